//! Differential tests: address space (mmap, brk, /proc/self/maps) and faults.
use rvisor_tests::diff_test;

diff_test!(mmap_ops, "mmap_ops");
diff_test!(mmap_ops_static, "mmap_ops", ["-static"]);
diff_test!(brk_grow, "brk_grow");
diff_test!(brk_grow_static_pie, "brk_grow", ["-static-pie"]);
diff_test!(proc_maps, "proc_maps");
diff_test!(proc_maps_static, "proc_maps", ["-static"]);
diff_test!(segv_recover, "segv_recover");
diff_test!(segv_recover_static_pie, "segv_recover", ["-static-pie"]);
diff_test!(crash_null, "crash_null");
diff_test!(crash_null_static, "crash_null", ["-static"]);
diff_test!(div_zero, "div_zero");
diff_test!(div_zero_caught, "div_zero", [], ["catch"]);
diff_test!(mprotect_limits, "mprotect_limits");
