//! The endpoints, over real HTTP to a real port.

mod common;

use common::spawn_app;
use testkit::http_get;

fn hostname() -> String {
    hostname::get().unwrap().into_string().unwrap()
}

#[test]
fn who_answers_the_hostname_with_no_trailing_newline() {
    let app = spawn_app();
    let response = ureq::get(&app.url("/who")).call().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.into_string().unwrap(), hostname());
}

#[test]
fn root_answers_the_hello_world_line_of_the_web_demo() {
    let app = spawn_app();
    assert_eq!(
        http_get(&app.url("/")),
        (
            200,
            "Hello World from Rust in minimal Docker container\n".to_owned()
        )
    );
}

#[test]
fn health_answers_ok() {
    let app = spawn_app();
    assert_eq!(http_get(&app.url("/health")), (200, "ok".to_owned()));
}

#[test]
fn api_describes_the_server_and_the_request_as_json() {
    let app = spawn_app();
    let response = ureq::get(&app.url("/api?x=1"))
        .set("X-Test", "yes")
        .call()
        .unwrap();
    assert_eq!(response.header("content-type"), Some("application/json"));
    let api: serde_json::Value = response.into_json().unwrap();
    assert_eq!(api["hostname"], hostname());
    assert_eq!(api["method"], "GET");
    assert_eq!(api["url"], "/api?x=1");
    assert_eq!(api["headers"]["X-Test"], serde_json::json!(["yes"]));
    assert!(
        api["ip"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ip| ip == "127.0.0.1"),
        "{api}"
    );
    let remote = api["remoteAddr"].as_str().unwrap();
    assert!(remote.starts_with("127.0.0.1:"), "{remote}");
}

#[test]
fn head_is_answered_wherever_get_is_without_a_body() {
    let app = spawn_app();
    for path in ["/", "/who", "/health", "/api"] {
        let response = ureq::head(&app.url(path)).call().unwrap();
        assert_eq!(response.status(), 200, "HEAD {path}");
        assert!(response.header("content-length").is_some(), "HEAD {path}");
        assert_eq!(response.into_string().unwrap(), "", "HEAD {path}");
    }
}

#[test]
fn other_methods_get_405_with_an_allow_header() {
    let app = spawn_app();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        match ureq::request(method, &app.url("/who")).call() {
            Err(ureq::Error::Status(405, response)) => {
                assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}")
            }
            other => panic!("{method} /who: expected 405, got {other:?}"),
        }
    }
}

#[test]
fn unknown_paths_get_404() {
    let app = spawn_app();
    assert_eq!(http_get(&app.url("/nope")).0, 404);
    assert_eq!(http_get(&app.url("/who/")).0, 404);
}

#[test]
fn keep_alive_connections_serve_many_requests() {
    let app = spawn_app();
    let agent = ureq::AgentBuilder::new().max_idle_connections(1).build();
    for _ in 0..50 {
        assert_eq!(agent.get(&app.url("/health")).call().unwrap().status(), 200);
    }
}
