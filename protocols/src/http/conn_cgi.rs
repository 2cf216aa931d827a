//! CGI runs of one connection: spawning the script with its pipes adopted by the reactor,
//! turning its output into the response (no body for 204/304/HEAD), and ending the run
//! (its process group killed at the time limit, when the client leaves, and at exit). A
//! child module of [`super`], so it shares the connection's private state.

use std::fmt::Write as _;
use std::process::Child;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use netreactor::{ConnId, Context, TimerId};

use super::super::cgi::{self, ServerFacts};
use super::super::config::Shared;
use super::super::handler::Response;
use super::{BodyTarget, HttpConn, HttpTimer, State, PIPELINE_QUEUE_BUDGET};

/// A CGI script run attached to this connection.
pub(super) struct CgiRun {
    pub(super) child: Option<Child>,
    pub(super) stdin: Option<ConnId>,
    pub(super) stdout: Option<ConnId>,
    pub(super) stderr: Option<ConnId>,
    pub(super) head_sent: bool,
    /// No body goes to the client (HEAD, or a 204/304 answer): script output after the head
    /// is read and dropped.
    pub(super) no_body: bool,
    pub(super) chunked: bool,
    pub(super) timer: Option<TimerId>,
    pub(super) stderr_line: Vec<u8>,
    pub(super) started: Instant,
    /// Holds one of the server's script slots until the run is dropped.
    pub(super) _slot: CgiSlot,
}

/// One of [`ServerConfig::max_cgi_scripts`](super::ServerConfig) slots, given back on drop.
pub(super) struct CgiSlot(Rc<Shared>);

impl CgiSlot {
    /// A slot, or `None` when every one is taken.
    fn take(shared: &Rc<Shared>) -> Option<CgiSlot> {
        let n = shared.cgi_running.get();
        if n >= shared.config.max_cgi_scripts {
            return None;
        }
        shared.cgi_running.set(n + 1);
        Some(CgiSlot(shared.clone()))
    }
}

impl Drop for CgiSlot {
    fn drop(&mut self) {
        let n = self.0.cgi_running.get();
        self.0.cgi_running.set(n.saturating_sub(1));
    }
}

impl HttpConn {
    /// Spawns `script` for the current request. `streaming`: the body (of `body_len`
    /// bytes) is still to come and will be piped to stdin by the caller; otherwise the
    /// buffered body is written and stdin closed, and the connection waits for the output.
    /// False when the script could not be started (an error was answered).
    pub(super) fn start_cgi(
        &mut self,
        cx: &mut Context<'_, HttpTimer>,
        script: cgi::CgiScript,
        body_len: Option<u64>,
        streaming: bool,
    ) -> bool {
        // A previous script that closed its stdout but lingers is not waited for any longer.
        self.kill_cgi(cx);
        let Some(slot) = CgiSlot::take(&self.shared) else {
            tracing::warn!(
                max = self.shared.config.max_cgi_scripts,
                "cgi: too many scripts running; 503"
            );
            if streaming {
                self.keep_alive = false;
            }
            let resp = Response::error(503).header("Retry-After", "1");
            self.respond(cx, resp);
            return false;
        };
        let facts = ServerFacts {
            software: &self.shared.config.server_name,
            root: &self.shared.root,
            local: self.req().local_addr(),
            peer: self.req().peer_addr(),
            https: cx.is_tls(),
        };
        let env = cgi::meta_variables(self.req(), &script, &facts, body_len);
        let spawned = match cgi::spawn(&script, &env) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(script = %script.path.display(), error = %e, "cgi: spawn failed");
                if streaming {
                    self.keep_alive = false;
                }
                self.respond(cx, Response::error(500));
                return false;
            }
        };
        let mut run = Box::new(CgiRun {
            child: Some(spawned.child),
            stdin: None,
            stdout: None,
            stderr: None,
            head_sent: false,
            no_body: self.head_only,
            chunked: self.req().version_minor == 1,
            timer: None,
            stderr_line: Vec::new(),
            started: cx.now(),
            _slot: slot,
        });
        let adopted = (|| -> std::io::Result<()> {
            run.stdout = Some(cx.adopt_child(spawned.stdout)?);
            run.stderr = Some(cx.adopt_child(spawned.stderr)?);
            run.stdin = Some(cx.adopt_child(spawned.stdin)?);
            Ok(())
        })();
        if let Err(e) = adopted {
            tracing::warn!(error = %e, "cgi: cannot adopt pipes");
            self.cgi = Some(run);
            self.kill_cgi(cx);
            if streaming {
                self.keep_alive = false;
            }
            self.respond(cx, Response::error(500));
            return false;
        }
        if let (Some(stdin), false) = (run.stdin, streaming) {
            let body = std::mem::take(&mut self.req_mut().body);
            if !body.is_empty() {
                cx.conn(stdin).write(body);
            }
            cx.conn(stdin).close();
        }
        run.timer = Some(cx.set_timer(self.shared.config.cgi_timeout, HttpTimer::Cgi));
        if !run.chunked {
            self.keep_alive = false;
        }
        self.cgi = Some(run);
        if !streaming {
            self.state = State::Responding;
        }
        true
    }

    /// Script output arrived on stdout.
    pub(super) fn cgi_output(&mut self, cx: &mut Context<'_, HttpTimer>, buf: &mut BytesMut) {
        let Some(run) = self.cgi.as_mut() else {
            buf.clear();
            return;
        };
        if !run.head_sent {
            let max = self.shared.cgi.as_ref().map_or(64 * 1024, |c| c.max_head);
            match cgi::parse_cgi_head(buf, max) {
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = ?e, "cgi: bad output header block");
                    buf.clear();
                    return self.cgi_fail(cx, 502);
                }
                Ok(Some((head, _))) if head.status < 200 => {
                    // An interim status cannot end an exchange: the client would wait on.
                    tracing::warn!(status = head.status, "cgi: 1xx status as the answer");
                    buf.clear();
                    return self.cgi_fail(cx, 502);
                }
                Ok(Some((head, n))) => {
                    buf.advance(n);
                    run.head_sent = true;
                    // 204 and 304 end at their head (RFC 9110 sections 15.3.5, 15.4.5): what the
                    // script writes after it is dropped, never framed as a body.
                    if head.status == 204 || head.status == 304 {
                        run.no_body = true;
                    }
                    let chunked = run.chunked && !run.no_body;
                    let mut resp = Response::new(head.status);
                    if let Some(reason) = &head.reason {
                        resp = resp.reason(reason);
                    }
                    resp.headers = head.headers;
                    if !resp
                        .headers
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case(b"content-type"))
                        && head.status != 304
                        && head.status != 204
                    {
                        resp.headers.push((
                            Bytes::from_static(b"Content-Type"),
                            Bytes::from_static(b"text/html"),
                        ));
                    }
                    self.write_head(&resp, head.status, cx.now());
                    self.observe(cx, head.status, None);
                    if chunked {
                        self.out()
                            .extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                    }
                    self.finish_head();
                    self.flush_out(cx);
                }
            }
        }
        let run = self.cgi.as_mut().expect("cgi run");
        if buf.is_empty() {
            return;
        }
        let data = buf.split().freeze();
        if run.no_body {
            return;
        }
        if run.chunked {
            let mut line = BytesMut::with_capacity(12);
            let _ = write!(line, "{:x}\r\n", data.len());
            cx.write(line.freeze());
            cx.write(data);
            cx.write(Bytes::from_static(b"\r\n"));
        } else {
            cx.write(data);
        }
        if cx.is_backpressured() || cx.queued() > PIPELINE_QUEUE_BUDGET {
            if let Some(out) = run.stdout {
                cx.conn(out).pause_read();
                cx.notify_drained();
            }
        }
    }

    /// Stdout reached its end: finish the response.
    pub(super) fn cgi_finished(&mut self, cx: &mut Context<'_, HttpTimer>) {
        let Some(run) = self.cgi.as_mut() else {
            return;
        };
        if !run.head_sent {
            tracing::warn!("cgi: script ended without a header block");
            return self.cgi_fail(cx, 502);
        }
        self.flush_out(cx);
        let Some(run) = self.cgi.as_mut() else {
            return;
        };
        if run.chunked && !run.no_body {
            cx.write(Bytes::from_static(b"0\r\n\r\n"));
        }
        if let Some(t) = run.timer.take() {
            cx.cancel_timer(t);
        }
        self.reap_cgi(cx);
        if let State::Body(body) = &mut self.state {
            if let BodyTarget::CgiStdin(stdin) = &mut body.target {
                // Answered before the whole body arrived: read (and drop) the rest, then go on.
                *stdin = None;
                self.cgi_answered = true;
                cx.resume_read();
                return;
            }
        }
        self.exchange_done(cx);
        cx.resume_read();
    }

    /// The script failed before it sent a head: answer `status`; after: cut the connection.
    pub(super) fn cgi_fail(&mut self, cx: &mut Context<'_, HttpTimer>, status: u16) {
        let sent = self.cgi.as_ref().is_some_and(|r| r.head_sent);
        self.kill_cgi(cx);
        if sent {
            self.state = State::Closing;
            self.cancel_all_timers(cx);
            self.flush_out(cx);
            cx.close();
        } else {
            self.fail(cx, status);
        }
    }

    pub(super) fn kill_cgi(&mut self, cx: &mut Context<'_, HttpTimer>) {
        if let Some(mut run) = self.cgi.take() {
            for id in [run.stdin, run.stdout, run.stderr].into_iter().flatten() {
                cx.conn(id).abort();
            }
            if let Some(t) = run.timer.take() {
                cx.cancel_timer(t);
            }
            if let Some(mut child) = run.child.take() {
                cgi::kill_group(&mut child);
            }
        }
    }

    /// Reaps the script if it has exited; otherwise checks again shortly (until the time
    /// limit, when it is killed).
    pub(super) fn reap_cgi(&mut self, cx: &mut Context<'_, HttpTimer>) {
        let Some(run) = self.cgi.as_mut() else {
            return;
        };
        if let Some(child) = run.child.as_mut() {
            // What the script left running in its group goes with it.
            match cgi::reap_group(child) {
                Ok(Some(status)) => {
                    if !status.success() {
                        tracing::info!(%status, "cgi: script exited with failure");
                    }
                    run.child = None;
                }
                Ok(None)
                    if cx.now().saturating_duration_since(run.started)
                        >= self.shared.config.cgi_timeout =>
                {
                    tracing::warn!("cgi: script outlived its time limit after its output; killed");
                    cgi::kill_group(child);
                    run.child = None;
                }
                Ok(None) => {
                    // Closed stdout but still running: look again soon, kill at the limit.
                    if run.timer.is_none() {
                        run.timer = Some(cx.set_timer(Duration::from_millis(50), HttpTimer::Reap));
                    }
                    return;
                }
                Err(_) => run.child = None,
            }
        }
        if run.child.is_none() {
            if let Some(t) = run.timer.take() {
                cx.cancel_timer(t);
            }
            let run = self.cgi.take().expect("cgi run");
            for id in [run.stdin, run.stderr].into_iter().flatten() {
                cx.conn(id).abort();
            }
        }
    }

    pub(super) fn cgi_stderr(&mut self, buf: &mut BytesMut) {
        let Some(run) = self.cgi.as_mut() else {
            buf.clear();
            return;
        };
        run.stderr_line.extend_from_slice(buf);
        buf.clear();
        while let Some(nl) = memchr::memchr(b'\n', &run.stderr_line) {
            let line: Vec<u8> = run.stderr_line.drain(..=nl).collect();
            tracing::warn!(stderr = %String::from_utf8_lossy(&line).trim_end(), "cgi");
        }
        if run.stderr_line.len() > 4096 {
            tracing::warn!(stderr = %String::from_utf8_lossy(&run.stderr_line), "cgi");
            run.stderr_line.clear();
        }
    }
}
