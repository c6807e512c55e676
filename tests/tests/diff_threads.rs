//! Differential tests: threads, futexes, TLS.
use rvisor_tests::diff_test;

diff_test!(thread_mutex, "thread_mutex");
diff_test!(thread_mutex_static, "thread_mutex", ["-static"]);
diff_test!(thread_mutex_static_pie, "thread_mutex", ["-static-pie"]);
diff_test!(thread_cond, "thread_cond");
diff_test!(thread_tls, "thread_tls");
diff_test!(thread_tls_static, "thread_tls", ["-static"]);
diff_test!(thread_futex, "thread_futex");
