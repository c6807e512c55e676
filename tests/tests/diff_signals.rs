//! Differential tests: signals.
use rvisor_tests::diff_test;

diff_test!(sig_handler, "sig_handler");
diff_test!(sig_handler_static, "sig_handler", ["-static"]);
diff_test!(sig_restart, "sig_restart");
diff_test!(sig_mask, "sig_mask");
diff_test!(sig_timedwait, "sig_timedwait");
diff_test!(signalfd_ops, "signalfd_ops");
diff_test!(sig_suspend, "sig_suspend");
diff_test!(sig_altstack, "sig_altstack");
diff_test!(sig_altstack_static_pie, "sig_altstack", ["-static-pie"]);
diff_test!(sig_avx, "sig_avx", ["-mavx2"]);
diff_test!(sig_resethand, "sig_resethand");
diff_test!(sig_nodefer, "sig_nodefer");
diff_test!(sig_chld, "sig_chld");
diff_test!(sig_pgrp, "sig_pgrp");
diff_test!(sig_pipe, "sig_pipe");
diff_test!(sig_queue, "sig_queue");
