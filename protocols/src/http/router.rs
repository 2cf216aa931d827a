//! A small router: routes by method and path prefix, `OPTIONS` and `405` with `Allow`.
//!
//! ```
//! use netreactor_protocols::http::{Request, Response, Router};
//!
//! let router = Router::new()
//!     .get("/hello", |_: &Request| Response::text(200, "hi"))
//!     .post("/api/", |req: &Request| Response::new(200).body(req.body().clone()));
//! use netreactor_protocols::http::Handler;
//! assert_eq!(router.handle(&Request::new("GET", "/hello")).status(), 200);
//! assert_eq!(router.handle(&Request::new("DELETE", "/hello")).status(), 405);
//! assert_eq!(router.handle(&Request::new("GET", "/nope")).status(), 404);
//! ```

use std::rc::Rc;

use super::handler::{BodyMode, Handler, Request, Response};

struct Route {
    method: Option<String>,
    prefix: String,
    handler: Rc<dyn Handler>,
}

/// Routes requests to handlers by method and path prefix; the first route that matches wins.
///
/// A prefix matches the path itself and everything below it (`/api` matches `/api` and
/// `/api/x`, not `/apix`; a prefix ending in `/` matches what starts with it). `HEAD` is
/// answered by the `GET` route (the connection drops the body). When routes match the path
/// but not the method, the answer is `405` with `Allow`; `OPTIONS` gets `204` with `Allow`
/// unless a route handles `OPTIONS` itself. No route: the fallback, or `404`.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    fallback: Option<Rc<dyn Handler>>,
}

impl Router {
    /// An empty router (answers 404 to everything).
    pub fn new() -> Router {
        Router::default()
    }

    /// Routes `method` requests under `prefix` to `handler`.
    pub fn route(mut self, method: &str, prefix: &str, handler: impl Handler) -> Router {
        self.routes.push(Route {
            method: Some(method.to_string()),
            prefix: prefix.to_string(),
            handler: Rc::new(handler),
        });
        self
    }

    /// Routes every method under `prefix` to `handler`.
    pub fn any(mut self, prefix: &str, handler: impl Handler) -> Router {
        self.routes.push(Route {
            method: None,
            prefix: prefix.to_string(),
            handler: Rc::new(handler),
        });
        self
    }

    /// `GET` (and `HEAD`) under `prefix`.
    pub fn get(self, prefix: &str, handler: impl Handler) -> Router {
        self.route("GET", prefix, handler)
    }

    /// `POST` under `prefix`.
    pub fn post(self, prefix: &str, handler: impl Handler) -> Router {
        self.route("POST", prefix, handler)
    }

    /// `PUT` under `prefix`.
    pub fn put(self, prefix: &str, handler: impl Handler) -> Router {
        self.route("PUT", prefix, handler)
    }

    /// `DELETE` under `prefix`.
    pub fn delete(self, prefix: &str, handler: impl Handler) -> Router {
        self.route("DELETE", prefix, handler)
    }

    /// What answers when no route's prefix matches (default: 404).
    pub fn fallback(mut self, handler: impl Handler) -> Router {
        self.fallback = Some(Rc::new(handler));
        self
    }

    fn prefix_matches(prefix: &str, path: &str) -> bool {
        if prefix.is_empty() || prefix == "/" {
            return true;
        }
        match path.strip_prefix(prefix) {
            Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    fn method_matches(route: &Option<String>, method: &str) -> bool {
        match route {
            None => true,
            Some(m) => m == method || (method == "HEAD" && m == "GET"),
        }
    }

    /// The handler for `req`, or the status to answer with (404, 405 / 204 for OPTIONS).
    fn select(&self, req: &Request) -> Result<&Rc<dyn Handler>, Response> {
        let path = req.path();
        let method = req.method();
        let mut any_path = false;
        for r in &self.routes {
            if !Self::prefix_matches(&r.prefix, path) {
                continue;
            }
            any_path = true;
            if Self::method_matches(&r.method, method) {
                return Ok(&r.handler);
            }
        }
        if !any_path {
            return match &self.fallback {
                Some(h) => Ok(h),
                None => Err(Response::error(404)),
            };
        }
        let allow = self.allow(path);
        if method == "OPTIONS" {
            return Err(Response::new(204).header("Allow", allow));
        }
        Err(Response::error(405).header("Allow", allow))
    }

    /// The `Allow` value for `path`: the methods of every route whose prefix matches.
    pub fn allow(&self, path: &str) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for r in &self.routes {
            if !Self::prefix_matches(&r.prefix, path) {
                continue;
            }
            match &r.method {
                None => {
                    return "GET, HEAD, POST, PUT, DELETE, OPTIONS".to_string();
                }
                Some(m) => {
                    if !methods.contains(&m.as_str()) {
                        methods.push(m);
                    }
                    if m == "GET" && !methods.contains(&"HEAD") {
                        methods.push("HEAD");
                    }
                }
            }
        }
        if !methods.contains(&"OPTIONS") {
            methods.push("OPTIONS");
        }
        methods.join(", ")
    }
}

impl Handler for Router {
    fn handle(&self, req: &Request) -> Response {
        match self.select(req) {
            Ok(h) => h.handle(req),
            Err(resp) => resp,
        }
    }

    fn body_mode(&self, req: &Request) -> BodyMode {
        match self.select(req) {
            Ok(h) => h.body_mode(req),
            Err(resp) => BodyMode::Reject(resp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(tag: &'static str) -> impl Handler {
        move |_: &Request| Response::text(200, tag)
    }

    fn body_of(r: &Response) -> Vec<u8> {
        match r.get_body() {
            super::super::handler::Body::Bytes(b) => b.to_vec(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn prefix_matches_on_segment_boundaries() {
        let r = Router::new().get("/api", ok("api")).fallback(ok("fb"));
        assert_eq!(body_of(&r.handle(&Request::new("GET", "/api"))), b"api");
        assert_eq!(body_of(&r.handle(&Request::new("GET", "/api/x"))), b"api");
        assert_eq!(body_of(&r.handle(&Request::new("GET", "/apix"))), b"fb");
    }

    #[test]
    fn first_matching_route_wins_and_head_uses_get() {
        let r = Router::new()
            .get("/a/b", ok("ab"))
            .get("/a", ok("a"))
            .post("/a", ok("post"));
        assert_eq!(body_of(&r.handle(&Request::new("GET", "/a/b/c"))), b"ab");
        assert_eq!(body_of(&r.handle(&Request::new("HEAD", "/a"))), b"a");
        assert_eq!(body_of(&r.handle(&Request::new("POST", "/a/b"))), b"post");
    }

    #[test]
    fn wrong_method_gets_405_with_allow_and_options_gets_204() {
        let r = Router::new().get("/x", ok("x")).put("/x", ok("p"));
        let resp = r.handle(&Request::new("DELETE", "/x"));
        assert_eq!(resp.status(), 405);
        assert_eq!(
            resp.get_header("allow"),
            Some(&b"GET, HEAD, PUT, OPTIONS"[..])
        );
        let resp = r.handle(&Request::new("OPTIONS", "/x"));
        assert_eq!(resp.status(), 204);
        assert_eq!(
            resp.get_header("Allow"),
            Some(&b"GET, HEAD, PUT, OPTIONS"[..])
        );
        assert_eq!(r.handle(&Request::new("GET", "/y")).status(), 404);
    }

    #[test]
    fn rejected_requests_do_not_read_the_body() {
        let r = Router::new().get("/x", ok("x"));
        match r.body_mode(&Request::new("POST", "/x")) {
            BodyMode::Reject(resp) => assert_eq!(resp.status(), 405),
            _ => panic!("expected a rejection"),
        }
    }
}
