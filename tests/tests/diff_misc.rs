//! Differential tests: polling, eventfd, time, randomness, identity, limits,
//! error paths.
use rvisor_tests::diff_test;

diff_test!(poll_select_epoll, "poll_select_epoll");
diff_test!(eventfd_ops, "eventfd_ops");
diff_test!(clock_sleep, "clock_sleep");
diff_test!(clock_sleep_static, "clock_sleep", ["-static"]);
diff_test!(getrandom_len, "getrandom_len");
diff_test!(uname_fields, "uname_fields");
diff_test!(rlimit_rt, "rlimit_rt");
diff_test!(errors, "errors");
diff_test!(errors_static, "errors", ["-static"]);
