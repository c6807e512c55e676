//! Differential tests: file descriptors and the file system (host root is
//! read-only in the sandbox, /tmp is a private tmpfs).
use rvisor_tests::diff_test;

diff_test!(fd_dup, "fd_dup");
diff_test!(fd_nonblock, "fd_nonblock");
diff_test!(fd_cloexec, "fd_cloexec");
diff_test!(fd_cloexec_static, "fd_cloexec", ["-static"]);
diff_test!(file_io, "file_io");
diff_test!(large_io, "large_io");
diff_test!(large_io_static, "large_io", ["-static"]);
diff_test!(file_io_static_pie, "file_io", ["-static-pie"]);
diff_test!(flock_contend, "flock_contend");
diff_test!(fcntl_locks, "fcntl_locks");
diff_test!(reclock_exec, "reclock_exec");
diff_test!(unix_sockets, "unix_sockets");
diff_test!(sendfile_splice, "sendfile_splice");
diff_test!(stat_sh, "stat_sh");
diff_test!(getdents_usr, "getdents_usr");
diff_test!(getdents_unlink, "getdents_unlink");
diff_test!(fallocate_ops, "fallocate_ops");
diff_test!(fallocate_ops_overlay, "fallocate_ops", [], ["/var/tmp"]);
diff_test!(getdents_unlink_overlay, "getdents_unlink", [], ["/var/tmp"]);
diff_test!(readlink_host, "readlink_host");
diff_test!(access_at, "access_at");
diff_test!(perm_denials, "perm_denials");
diff_test!(mount_ops, "mount_ops");
diff_test!(xattr_ops, "xattr_ops");
diff_test!(mount_remount, "mount_remount");
diff_test!(mount_tree, "mount_tree");
diff_test!(pivot_root_ops, "pivot_root_ops");
diff_test!(cwd_chdir, "cwd_chdir");
diff_test!(umask_rt, "umask_rt");
diff_test!(inotify_events, "inotify_events");
diff_test!(rename_flags, "rename_flags");
diff_test!(tmpfile_link, "tmpfile_link");
diff_test!(tee_pipes, "tee_pipes");
diff_test!(fs_races, "fs_races");
diff_test!(mount_flags, "mount_flags");
