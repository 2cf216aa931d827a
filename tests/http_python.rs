//! Python's `http.client` against the file server: keep-alive reuse, pipelining by hand on a
//! raw socket, and a browser-style visit with revalidation.

mod common;
#[path = "http/support.rs"]
mod support;

use serde_json::Value;

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn args(f: &support::Fixture) -> (String, String) {
    (f.addr().ip().to_string(), f.addr().port().to_string())
}

#[test]
fn python_http_client_reuses_one_keep_alive_connection() {
    let f = support::start(|_| {});
    let (host, port) = args(&f);
    let rows = lines(&support::python("keepalive.py", &[&host, &port]));
    assert_eq!(rows.len(), 5);
    let ports: Vec<&Value> = rows.iter().map(|r| &r["port"]).collect();
    assert!(
        ports.iter().all(|p| *p == ports[0]),
        "one connection: {ports:?}"
    );
    assert_eq!(rows[0]["status"], 200);
    assert_eq!(rows[0]["body"], "hello from the root\n");
    assert_eq!(rows[2]["status"], 404);
    assert_eq!(rows[3]["status"], 200);
    assert_eq!(rows[3]["length"], 0, "HEAD has no body");
    assert_eq!(rows[3]["content_length"], "10000");
    assert_eq!(rows[4]["body"], "hello from the root\n");
}

#[test]
fn python_pipelined_requests_come_back_in_order() {
    let f = support::start(|_| {});
    let (host, port) = args(&f);
    let rows = lines(&support::python("pipeline.py", &[&host, &port]));
    let got: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r["status"].as_i64().unwrap(), r["body"].as_str().unwrap()))
        .collect();
    assert_eq!(got[0], (200, "hello from the root\n"));
    assert_eq!(got[1], (200, "body { color: red }\n"));
    assert_eq!(got[2].0, 404);
    assert_eq!(got[3], (200, "console.log('hi');\n"));
    assert_eq!(got[4], (200, "hello from the root\n"));
}

#[test]
fn python_browser_visit_then_revalidation_gets_304s() {
    let f = support::start(|_| {});
    let (host, port) = args(&f);
    let rows = lines(&support::python("browser.py", &[&host, &port]));
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0]["status"], 200);
    assert_eq!(rows[0]["type"], "text/html; charset=utf-8");
    assert_eq!(rows[1]["type"], "text/css; charset=utf-8");
    assert_eq!(rows[2]["type"], "text/javascript; charset=utf-8");
    assert_eq!(rows[3]["status"], 404);
    for r in &rows[4..] {
        assert_eq!(r["status"], 304, "{r}");
        assert_eq!(r["length"], 0);
    }
    assert!(
        rows.iter().all(|r| r["port"] == rows[0]["port"]),
        "one connection"
    );
}

#[test]
fn python_client_sending_a_body_too_large_reads_the_error_not_a_reset() {
    // 8 MB is more than the loopback's socket buffers hold: the client is still sending when
    // the server answers and closes. The close lingers, so the answer reaches the client.
    let f = support::start(|c| {
        c.writable = true;
        c.max_upload = 100_000;
        c.max_body = 100_000;
    });
    let (host, port) = args(&f);
    let rows = lines(&support::python("big_body.py", &[&host, &port, "8000000"]));
    let got: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| {
            let status = r["status"].as_i64();
            (
                r["method"].as_str().unwrap(),
                status.unwrap_or_else(|| panic!("{r}")),
            )
        })
        .collect();
    assert_eq!(got, [("PUT", 413), ("POST", 405), ("GET", 413)]);
    assert!(!f.root.join("upload.bin").exists(), "nothing was written");
}
