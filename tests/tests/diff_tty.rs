//! Differential tests: pseudo-terminals (devpts, the line discipline, job
//! control). Each C program runs natively and under `rvisor do`; stdout
//! and the exit status must be identical.
use rvisor_tests::diff_test;

diff_test!(pty_basic, "pty_basic");
diff_test!(pty_jobctl, "pty_jobctl");
