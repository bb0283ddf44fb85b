//! TCP_NODELAY for the plugin's gRPC sockets.
//!
//! tf-provider 0.2 accepts Terraform's connections on a listener it creates and never
//! sets TCP_NODELAY, so every small gRPC response waits for Nagle's algorithm against
//! the client's delayed ACK: about 40 ms per call on Linux. Its listener is private, but
//! on Linux (and BSDs) accepted sockets inherit TCP_NODELAY from the listening socket,
//! and Terraform connects only after reading the handshake line the plugin prints on
//! stdout. So [`install`] puts a pipe in front of stdout; when the handshake line passes
//! through, the listener named in it gets TCP_NODELAY, and only then is the line handed
//! on to Terraform. `K0STACK_TCP_NODELAY=0` turns this off (to measure the difference).

#[cfg(unix)]
mod imp {
    use std::fs::File;
    use std::io::{BufRead, BufReader, Write};
    use std::net::SocketAddr;
    use std::os::fd::{FromRawFd, RawFd};

    /// The address in a go-plugin handshake line `1|6|tcp|127.0.0.1:PORT|grpc|...`.
    pub fn handshake_addr(line: &str) -> Option<SocketAddr> {
        let mut parts = line.trim().split('|');
        let (_core, _proto, network, addr) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        (network == "tcp").then(|| addr.parse().ok()).flatten()
    }

    fn local_addr(fd: RawFd) -> Option<SocketAddr> {
        let sock = std::mem::ManuallyDrop::new(unsafe { std::net::TcpListener::from_raw_fd(fd) });
        sock.local_addr().ok()
    }

    fn is_listening(fd: RawFd) -> bool {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                &mut v as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        rc == 0 && v != 0
    }

    fn set_nodelay(fd: RawFd) -> bool {
        let one: libc::c_int = 1;
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    }

    /// Sets TCP_NODELAY on this process's listening socket bound to `addr`. Returns whether
    /// one was found.
    pub fn set_on_listener(addr: SocketAddr) -> bool {
        let Ok(entries) =
            std::fs::read_dir("/proc/self/fd").or_else(|_| std::fs::read_dir("/dev/fd"))
        else {
            return false;
        };
        let mut done = false;
        for e in entries.flatten() {
            let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<RawFd>().ok()) else {
                continue;
            };
            if is_listening(fd) && local_addr(fd) == Some(addr) {
                done |= set_nodelay(fd);
            }
        }
        done
    }

    /// Routes stdout through a pipe watched by a thread (see the module docs).
    pub fn install() {
        if std::env::var("K0STACK_TCP_NODELAY").is_ok_and(|v| v == "0") {
            return;
        }
        let mut fds = [0 as RawFd; 2];
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return;
        }
        let original = unsafe { libc::dup(libc::STDOUT_FILENO) };
        if original < 0 || unsafe { libc::dup2(fds[1], libc::STDOUT_FILENO) } < 0 {
            return;
        }
        unsafe { libc::close(fds[1]) };
        let reader = unsafe { File::from_raw_fd(fds[0]) };
        let mut out = unsafe { File::from_raw_fd(original) };
        std::thread::Builder::new()
            .name("stdout-relay".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = handshake_addr(&line) {
                        let ok = set_on_listener(addr);
                        tracing::debug!(%addr, tcp_nodelay = ok, "plugin listener");
                    }
                    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                        break;
                    }
                }
            })
            .ok();
    }
}

#[cfg(unix)]
pub use imp::{handshake_addr, install, set_on_listener};

#[cfg(not(unix))]
pub fn install() {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn parses_the_handshake() {
        let a = handshake_addr("1|6|tcp|127.0.0.1:10001|grpc|MIIB").unwrap();
        assert_eq!(a.to_string(), "127.0.0.1:10001");
        assert!(handshake_addr("1|6|unix|/tmp/x|grpc|").is_none());
        assert!(handshake_addr("hello").is_none());
    }

    #[test]
    fn accepted_sockets_inherit_nodelay_from_the_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(set_on_listener(addr), "listener not found among our fds");
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "accepted socket did not inherit TCP_NODELAY"
        );
    }
}
