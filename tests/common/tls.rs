//! An HTTPS server on loopback whose certificate (for 127.0.0.1, ::1 and localhost) is signed
//! by a fresh private CA, so that the step must be told about the CA with `SSL_CERT_FILE`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Longest time the server stays up.
const LIFETIME: Duration = Duration::from_secs(90);

pub struct HttpsServer {
    /// `https://127.0.0.1:<port>` (or the bound address).
    pub url: String,
    pub port: u16,
    /// The CA that signed the server's certificate, PEM.
    pub ca_pem: String,
    /// The same CA written to a file, for `SSL_CERT_FILE`.
    pub ca_file: tempfile::NamedTempFile,
    /// TCP connections accepted, whether or not the handshake completed.
    pub connections: Arc<AtomicUsize>,
    /// The head of each request read after a completed handshake.
    pub heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl HttpsServer {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests read over a completed handshake.
    pub fn requests(&self) -> usize {
        self.heads.lock().unwrap().len()
    }
}

/// Serves on `bind` (`127.0.0.1` or `[::1]`) a 200 JSON answer `answer(head)` to every
/// request, `head` being the request line and headers as received.
pub fn https_server(bind: &str, answer: impl Fn(&str) -> String + Send + Sync + 'static) -> HttpsServer {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "pr-status test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "::1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca_cert.der().clone()],
                rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
            )
            .unwrap(),
    );
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    ca_file.write_all(ca_cert.pem().as_bytes()).unwrap();
    let listener = TcpListener::bind(format!("{bind}:0")).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let answer = Arc::new(answer);
    let (h, c, s) = (heads.clone(), connections.clone(), stop.clone());
    thread::spawn(move || {
        let started = Instant::now();
        while !s.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
            let Ok((stream, _)) = listener.accept() else {
                thread::sleep(Duration::from_millis(5));
                continue;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let (config, h, answer) = (config.clone(), h.clone(), answer.clone());
            thread::spawn(move || {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return, // the client refused the certificate
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let body = answer(&head);
                h.lock().unwrap().push(head);
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    HttpsServer {
        url: format!("https://{bind}:{port}"),
        port,
        ca_pem: ca_cert.pem(),
        ca_file,
        connections,
        heads,
        stop,
    }
}
