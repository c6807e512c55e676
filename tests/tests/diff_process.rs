//! Differential tests: processes, exec, pipes. Each C program in tests/c runs
//! natively and under `rvisor do`; stdout and exit status must be identical.
use rvisor_tests::diff_test;

diff_test!(io_basic, "io_basic");
diff_test!(io_basic_static, "io_basic", ["-static"]);
diff_test!(io_basic_static_pie, "io_basic", ["-static-pie"]);
diff_test!(pipe_ops, "pipe_ops");
diff_test!(fork_wait, "fork_wait");
diff_test!(fork_wait_static, "fork_wait", ["-static"]);
diff_test!(waitpid_nohang, "waitpid_nohang");
diff_test!(vfork_exec, "vfork_exec");
diff_test!(vfork_exec_static_pie, "vfork_exec", ["-static-pie"]);
diff_test!(exec_echo, "exec_echo");
diff_test!(exec_echo_static, "exec_echo", ["-static"]);
diff_test!(posix_spawn, "posix_spawn");
diff_test!(pipeline, "pipeline");
diff_test!(fork_many, "fork_many");
diff_test!(ids, "ids");
diff_test!(session_pgrp, "session_pgrp");
diff_test!(nnp_fork, "nnp_fork");
diff_test!(enosys, "enosys");
diff_test!(enosys_static, "enosys", ["-static"]);

/// argv with 10000 arguments, forwarded again through execve.
#[test]
fn many_args_10000() {
    let args: Vec<String> = (0..10_000).map(|i| format!("arg{i}-{}", i % 7)).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    rvisor_tests::differential_c("many_args", &[], &refs);
}
diff_test!(caps_ops, "caps_ops");
