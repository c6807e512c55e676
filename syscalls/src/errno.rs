//! Errno names and descriptions.

use crate::Errno;

/// Returns the symbolic name of an errno value (`2` → `"ENOENT"`), or `"E?"`
/// if it is unknown. Negative values (raw syscall returns such as `-2`) are
/// accepted too.
pub fn errno_name(e: i32) -> &'static str {
    let Ok(v) = i32::try_from(e.unsigned_abs()) else {
        return "E?";
    };
    Errno::new(v).name().unwrap_or("E?")
}

/// Returns a human-readable description of an errno value, using glibc's
/// `strerror` wording (as strace prints it) for the common errors and the
/// kernel's wording otherwise; `"Unknown error"` if unknown. Negative values
/// are accepted too.
pub fn errno_description(e: i32) -> &'static str {
    let Ok(v) = i32::try_from(e.unsigned_abs()) else {
        return "Unknown error";
    };
    if let Some(d) = glibc_description(v) {
        return d;
    }
    Errno::new(v).description().unwrap_or("Unknown error")
}

fn glibc_description(e: i32) -> Option<&'static str> {
    Some(match e {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        3 => "No such process",
        4 => "Interrupted system call",
        5 => "Input/output error",
        6 => "No such device or address",
        7 => "Argument list too long",
        8 => "Exec format error",
        9 => "Bad file descriptor",
        10 => "No child processes",
        11 => "Resource temporarily unavailable",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        14 => "Bad address",
        15 => "Block device required",
        16 => "Device or resource busy",
        17 => "File exists",
        18 => "Invalid cross-device link",
        19 => "No such device",
        20 => "Not a directory",
        21 => "Is a directory",
        22 => "Invalid argument",
        23 => "Too many open files in system",
        24 => "Too many open files",
        25 => "Inappropriate ioctl for device",
        26 => "Text file busy",
        27 => "File too large",
        28 => "No space left on device",
        29 => "Illegal seek",
        30 => "Read-only file system",
        31 => "Too many links",
        32 => "Broken pipe",
        33 => "Numerical argument out of domain",
        34 => "Numerical result out of range",
        35 => "Resource deadlock avoided",
        36 => "File name too long",
        37 => "No locks available",
        38 => "Function not implemented",
        39 => "Directory not empty",
        40 => "Too many levels of symbolic links",
        42 => "No message of desired type",
        43 => "Identifier removed",
        61 => "No data available",
        62 => "Timer expired",
        71 => "Protocol error",
        74 => "Bad message",
        75 => "Value too large for defined data type",
        77 => "File descriptor in bad state",
        84 => "Invalid or incomplete multibyte or wide character",
        88 => "Socket operation on non-socket",
        89 => "Destination address required",
        90 => "Message too long",
        91 => "Protocol wrong type for socket",
        92 => "Protocol not available",
        93 => "Protocol not supported",
        94 => "Socket type not supported",
        95 => "Operation not supported",
        96 => "Protocol family not supported",
        97 => "Address family not supported by protocol",
        98 => "Address already in use",
        99 => "Cannot assign requested address",
        100 => "Network is down",
        101 => "Network is unreachable",
        102 => "Network dropped connection on reset",
        103 => "Software caused connection abort",
        104 => "Connection reset by peer",
        105 => "No buffer space available",
        106 => "Transport endpoint is already connected",
        107 => "Transport endpoint is not connected",
        108 => "Cannot send after transport endpoint shutdown",
        109 => "Too many references: cannot splice",
        110 => "Connection timed out",
        111 => "Connection refused",
        112 => "Host is down",
        113 => "No route to host",
        114 => "Operation already in progress",
        115 => "Operation now in progress",
        116 => "Stale file handle",
        122 => "Disk quota exceeded",
        125 => "Operation canceled",
        130 => "Owner died",
        131 => "State not recoverable",
        512 => "To be restarted if SA_RESTART is set",
        513 => "To be restarted",
        514 => "To be restarted if no handler",
        516 => "Interrupted by signal",
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(errno_name(2), "ENOENT");
        assert_eq!(errno_name(-2), "ENOENT");
        assert_eq!(errno_name(libc::EAGAIN), "EAGAIN");
        assert_eq!(errno_name(libc::ENOSYS), "ENOSYS");
        assert_eq!(errno_name(libc::EINVAL), "EINVAL");
        assert_eq!(errno_name(libc::EDEADLK), "EDEADLK");
        assert_eq!(errno_name(512), "ERESTARTSYS");
        assert_eq!(errno_name(0), "E?");
        assert_eq!(errno_name(41), "E?");
        assert_eq!(errno_name(4000), "E?");
        assert_eq!(errno_name(i32::MIN), "E?");
        assert_eq!(errno_name(i32::MAX), "E?");
    }

    #[test]
    fn descriptions() {
        assert_eq!(errno_description(2), "No such file or directory");
        assert_eq!(errno_description(9), "Bad file descriptor");
        assert_eq!(errno_description(25), "Inappropriate ioctl for device");
        assert_eq!(errno_description(-38), "Function not implemented");
        assert_eq!(errno_description(121), "Remote I/O error");
        assert_eq!(errno_description(0), "Unknown error");
        assert_eq!(errno_description(i32::MIN), "Unknown error");
    }

    #[test]
    fn every_small_errno_is_total() {
        for e in -5000..5000 {
            let _ = errno_name(e);
            let _ = errno_description(e);
        }
        for e in 1..=133 {
            if e == 41 || e == 58 {
                continue;
            }
            assert_ne!(errno_name(e), "E?", "errno {e}");
        }
    }
}
