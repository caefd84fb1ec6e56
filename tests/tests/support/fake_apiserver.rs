//! A loopback stand-in for the Kubernetes API server, so the real `kubectl` can be exercised
//! without a cluster: HTTP/1.1 on 127.0.0.1, std only, one thread per connection, answers read
//! from recorded responses under `tests/data/apiserver/`.
//!
//! Routing is by path: `/apis/discovery.k8s.io/v1/endpointslices` is answered with
//! `apis/discovery.k8s.io/v1/endpointslices.json`. Discovery (`/api`, `/apis`) is answered in
//! the aggregated form (`apidiscovery.k8s.io/v2`, what kubectl 1.32 asks for first) from
//! `api.json` and `apis.json`. Pod lists honour an equality `labelSelector` (what
//! `kubectl logs -l` sends); `.../pods/NAME/log` is answered with `NAME.log` as text. Anything
//! else is the API server's NotFound Status.
//!
//! Every request is logged (method, path with query, Accept) for the tests to inspect.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the server behaves.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Answer from the recorded responses in this directory.
    Recorded(PathBuf),
    /// Accept connections and read requests, but never answer.
    Hang,
    /// Like `Recorded`, but never answer requests whose path starts with one of the prefixes.
    RecordedExcept { dir: PathBuf, hang: Vec<String> },
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub accept: String,
    pub user_agent: String,
}

impl LoggedRequest {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

pub struct FakeApiServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// The content type of an aggregated discovery document, as the API server labels it.
const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

impl FakeApiServer {
    pub fn start(mode: Mode) -> FakeApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (log, stop, mode) = (Arc::clone(&log), Arc::clone(&stop), mode.clone());
                    std::thread::spawn(move || serve_connection(stream, &mode, &log, &stop));
                }
            })
        };
        FakeApiServer {
            addr,
            log,
            stop,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Writes a kubeconfig pointing at this server into `dir` and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {}\n  name: fake\n\
             contexts:\n- context:\n    cluster: fake\n    user: fake\n  name: fake\n\
             current-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            self.url()
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Reads one request head (and skips a body, GETs have none); None at end of stream.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let req = Request {
        method,
        target,
        headers,
    };
    let body_len: u64 = req.header("Content-Length").parse().unwrap_or(0);
    if body_len > 0 {
        std::io::copy(&mut reader.by_ref().take(body_len), &mut std::io::sink()).ok()?;
    }
    Some(req)
}

fn serve_connection(
    stream: TcpStream,
    mode: &Mode,
    log: &Mutex<Vec<LoggedRequest>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !stop.load(Ordering::SeqCst) {
        let req = match read_request(&mut reader) {
            Some(r) => r,
            None => {
                // A read timeout leaves the connection open (idle keep-alive); EOF ends it.
                let mut probe = [0u8; 1];
                match reader.get_ref().peek(&mut probe) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue
                    }
                    Err(_) => break,
                }
            }
        };
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LoggedRequest {
                method: req.method.clone(),
                target: req.target.clone(),
                accept: req.header("Accept").to_string(),
                user_agent: req.header("User-Agent").to_string(),
            });
        let path = req.target.split('?').next().unwrap_or_default();
        let dir = match mode {
            Mode::Hang => None,
            Mode::Recorded(dir) => Some(dir),
            Mode::RecordedExcept { dir, hang } => {
                (!hang.iter().any(|p| path.starts_with(p.as_str()))).then_some(dir)
            }
        };
        match dir {
            None => {
                // Hold the connection open, silent, until the server is dropped.
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                break;
            }
            Some(dir) => {
                let (status, content_type, body) = answer(dir, &req);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
                     Content-Length: {}\r\nCache-Control: no-cache, private\r\n\r\n",
                    body.len()
                );
                if writer.write_all(head.as_bytes()).is_err()
                    || writer.write_all(&body).is_err()
                    || writer.flush().is_err()
                {
                    break;
                }
            }
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// (status line, content type, body) for a request.
fn answer(dir: &Path, req: &Request) -> (&'static str, String, Vec<u8>) {
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let json = "application/json".to_string();
    if req.method != "GET" {
        return (
            "405 Method Not Allowed",
            json,
            status_body(
                405,
                "MethodNotAllowed",
                "the server does not allow this method",
            ),
        );
    }
    // Refuse anything that could leave the data directory.
    if path
        .split('/')
        .any(|seg| seg == ".." || seg.starts_with('.'))
    {
        return not_found(path);
    }
    if path == "/api" || path == "/apis" {
        // kubectl 1.32 lists the aggregated v2 form first; a real server answers in it with
        // this content type. The legacy form is not recorded here.
        if !req
            .header("Accept")
            .contains("v=v2;as=APIGroupDiscoveryList")
        {
            return (
                "406 Not Acceptable",
                json,
                status_body(
                    406,
                    "NotAcceptable",
                    "only aggregated discovery is recorded",
                ),
            );
        }
        let file = dir.join(format!("{}.json", path.trim_start_matches('/')));
        return match std::fs::read(&file) {
            Ok(body) => ("200 OK", AGGREGATED_V2.to_string(), body),
            Err(_) => not_found(path),
        };
    }
    if let Some(rest) = path.strip_suffix("/log") {
        // /api/v1/namespaces/NS/pods/NAME/log
        let file = dir.join(format!("{}.log", rest.trim_start_matches('/')));
        return match std::fs::read(&file) {
            Ok(body) => ("200 OK", "text/plain".to_string(), body),
            Err(_) => not_found(path),
        };
    }
    let file = dir.join(format!("{}.json", path.trim_start_matches('/')));
    let Ok(body) = std::fs::read(&file) else {
        return not_found(path);
    };
    let selector = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("labelSelector="))
        .map(percent_decode);
    let body = match selector {
        Some(sel) => filter_by_labels(&body, &sel),
        None => body,
    };
    ("200 OK", json, body)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Keeps the list items whose labels match every `key=value` of the selector.
fn filter_by_labels(body: &[u8], selector: &str) -> Vec<u8> {
    let Ok(mut list) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    let wanted: Vec<(&str, &str)> = selector
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim_end_matches('='), v))
        .collect();
    if let Some(items) = list
        .get_mut("items")
        .and_then(serde_json::Value::as_array_mut)
    {
        items.retain(|item| {
            wanted.iter().all(|(k, v)| {
                item.pointer("/metadata/labels")
                    .and_then(|l| l.get(*k))
                    .and_then(serde_json::Value::as_str)
                    == Some(*v)
            })
        });
    }
    serde_json::to_vec(&list).unwrap_or_else(|_| body.to_vec())
}

fn status_body(code: u16, reason: &str, message: &str) -> Vec<u8> {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": {}, "code": code
    })
    .to_string()
    .into_bytes()
}

/// The API server's NotFound: for a named object `RESOURCE "NAME" not found` (what kubectl
/// prints after "Error from server (NotFound): "), else "the server could not find the
/// requested resource".
fn not_found(path: &str) -> (&'static str, String, Vec<u8>) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let named = match segs.as_slice() {
        ["api", _, "namespaces", _, res, name] => Some((*res, *name)),
        ["apis", _, _, "namespaces", _, res, name] => Some((*res, *name)),
        _ => None,
    };
    let body = match named {
        Some((res, name)) => serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{res} \"{name}\" not found"), "reason": "NotFound",
            "details": {"name": name, "kind": res}, "code": 404
        })
        .to_string()
        .into_bytes(),
        None => status_body(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    };
    ("404 Not Found", "application/json".to_string(), body)
}
