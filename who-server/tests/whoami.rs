//! traefik/whoami's endpoints and their bounds, over real HTTP to the
//! server on port 0 (in this process; flags and signals: whoami_process.rs).

mod common;

use std::time::{Duration, Instant};

use common::process::exchange;
use common::{spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};
use testkit::http_get;
use who_server::{Config, Endpoints, Root};

fn hostname() -> String {
    hostname::get().unwrap().into_string().unwrap()
}

fn app_with(endpoints: Endpoints) -> TestApp {
    spawn_app_with(Config {
        endpoints,
        ..Config::default()
    })
}

fn whoami_root() -> TestApp {
    app_with(Endpoints {
        root: Root::Whoami,
        ..Endpoints::default()
    })
}

/// Status, headers (lower-case names) and body of one request, whatever the status.
fn call(request: ureq::Request) -> (u16, Vec<(String, String)>, String) {
    answer(request.timeout(Duration::from_secs(10)).call())
}

/// POST `body` to `url`: status, headers and body, whatever the status.
fn post(url: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    answer(
        ureq::post(url)
            .timeout(Duration::from_secs(10))
            .send_string(body),
    )
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Vec<(String, String)>, String) {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{e}"),
    };
    let mut names = response.headers_names();
    names.dedup();
    let headers = names
        .into_iter()
        .flat_map(|name| {
            let values: Vec<String> = response.all(&name).into_iter().map(str::to_owned).collect();
            values.into_iter().map(move |v| (name.clone(), v))
        })
        .collect();
    (response.status(), headers, response.into_string().unwrap())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The lines whoami writes about the server: Hostname, one IP per address.
fn server_lines(page: &str) -> Vec<&str> {
    page.lines()
        .take_while(|line| !line.starts_with("RemoteAddr: "))
        .collect()
}

#[test]
fn the_page_is_whoamis_layout_byte_for_byte() {
    let app = spawn_app();
    let port = app.addr.port();
    let answer = exchange(
        app.addr,
        b"POST /whoami?x=1 HTTP/1.1\r\nhost: here\r\nuser-agent: t/1\r\nx-b: 2\r\nx-a: 1\r\nx-b: 3\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
    );
    let answer = String::from_utf8(answer).unwrap();
    let (head, page) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let ips: String = server_lines(page)
        .iter()
        .skip(1)
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(ips.contains("IP: 127.0.0.1\n"), "{page}");
    let local = page
        .lines()
        .find_map(|l| l.strip_prefix("RemoteAddr: 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no RemoteAddr line: {page}"));
    assert_ne!(local, port.to_string());
    assert_eq!(
        page,
        format!(
            "Hostname: {}\n{ips}RemoteAddr: 127.0.0.1:{local}\n\
             POST /whoami?x=1 HTTP/1.1\r\nHost: here\r\nUser-Agent: t/1\r\nContent-Length: 5\r\n\
             Connection: close\r\nX-A: 1\r\nX-B: 2\r\nX-B: 3\r\n\r\nhello",
            hostname()
        )
    );
}

#[test]
fn a_name_is_the_pages_first_line() {
    let app = app_with(Endpoints {
        name: Some("replica-1".into()),
        ..Endpoints::default()
    });
    let (_, page) = http_get(&app.url("/whoami"));
    assert!(
        page.starts_with(&format!("Name: replica-1\nHostname: {}\n", hostname())),
        "{page}"
    );
}

#[test]
fn root_whoami_serves_the_page_at_root_and_at_every_unmatched_path() {
    let app = whoami_root();
    for path in ["/", "/anything/at/all", "/who/"] {
        let (status, page) = http_get(&app.url(path));
        assert_eq!(status, 200, "{path}");
        assert!(page.starts_with("Hostname: "), "{path}: {page}");
        assert!(page.contains(&format!("GET {path} HTTP/1.1\r\n")), "{page}");
    }
}

#[test]
fn root_whoami_keeps_who_as_the_bare_hostname() {
    let app = whoami_root();
    assert_eq!(http_get(&app.url("/who")), (200, hostname()));
}

#[test]
fn the_default_root_keeps_hello_and_404_and_serves_the_page_at_whoami() {
    let app = spawn_app();
    assert_eq!(
        http_get(&app.url("/")).1,
        "Hello World from Rust in minimal Docker container\n"
    );
    assert_eq!(http_get(&app.url("/nope")).0, 404);
    assert!(http_get(&app.url("/whoami")).1.starts_with("Hostname: "));
}

#[test]
fn the_page_echoes_at_most_64_kib_of_the_body() {
    let app = spawn_app();
    let body = "x".repeat(100 * 1024);
    let (status, _, page) = post(&app.url("/whoami"), &body);
    assert_eq!(status, 200);
    let echoed = page.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(echoed, &body[..64 * 1024]);
}

#[test]
fn api_gives_whoamis_fields_in_its_order() {
    let app = app_with(Endpoints {
        name: Some("r1".into()),
        ..Endpoints::default()
    });
    let (status, headers, body) = call(
        ureq::get(&app.url("/api?a=b"))
            .set("X-Test", "yes")
            .set("Host", "example.test"),
    );
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert!(
        body.ends_with("}\n") && !body.contains("\n "),
        "one line: {body}"
    );
    let keys: Vec<&str> = [
        "hostname",
        "ip",
        "headers",
        "url",
        "host",
        "method",
        "name",
        "remoteAddr",
    ]
    .into_iter()
    .collect();
    let mut at = 0;
    for key in &keys {
        let found = body[at..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing or out of order: {body}"));
        at += found;
    }
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api["hostname"], hostname());
    assert_eq!(api["url"], "/api?a=b");
    assert_eq!(api["host"], "example.test");
    assert_eq!(api["method"], "GET");
    assert_eq!(api["name"], "r1");
    assert_eq!(api["headers"]["X-Test"], json!(["yes"]));
    assert_eq!(api["headers"].get("Host"), None, "Go moves Host out");
    assert!(api["remoteAddr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(api["ip"].as_array().unwrap().contains(&json!("127.0.0.1")));
    assert_eq!(api.get("environ"), None);
}

#[test]
fn api_leaves_out_the_name_when_none_is_set() {
    let app = spawn_app();
    let api: Value = serde_json::from_str(&http_get(&app.url("/api")).1).unwrap();
    assert_eq!(api.get("name"), None, "{api}");
}

#[test]
fn bench_answers_1() {
    let app = spawn_app();
    assert_eq!(http_get(&app.url("/bench")), (200, "1".to_owned()));
}

#[test]
fn data_answers_size_bytes_of_whoamis_pattern_with_a_content_length() {
    let app = spawn_app();
    let (status, headers, body) = call(ureq::get(&app.url("/data?size=30")));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("30"));
    assert_eq!(body, "|ABCDEFGHIJKLMNOPQRSTUVWXYZ-A|");
}

#[test]
fn data_units_are_1024_based() {
    let app = spawn_app();
    let (_, headers, body) = call(ureq::get(&app.url("/data?size=3&unit=KB")));
    assert_eq!(header(&headers, "content-length"), Some("3072"));
    assert_eq!(body.len(), 3072);
    assert_eq!(http_get(&app.url("/data?size=1&unit=mb")).1.len(), 1 << 20);
}

#[test]
fn data_with_attachment_true_is_a_download() {
    let app = spawn_app();
    let (_, headers, _) = call(ureq::get(&app.url("/data?size=2&attachment=true")));
    assert_eq!(header(&headers, "content-disposition"), Some("attachment"));
    let (_, headers, _) = call(ureq::get(&app.url("/data?size=2")));
    assert_eq!(header(&headers, "content-disposition"), None);
}

#[test]
fn data_over_max_data_is_refused_with_its_reason() {
    let app = app_with(Endpoints {
        max_data: 1000,
        ..Endpoints::default()
    });
    assert_eq!(http_get(&app.url("/data?size=1000")).0, 200);
    assert_eq!(
        http_get(&app.url("/data?size=1001")),
        (
            400,
            "size=1001 unit= is over --max-data, 1000 bytes\n".to_owned()
        )
    );
}

#[test]
fn bad_data_parameters_get_a_one_line_reason() {
    let app = spawn_app();
    for (query, reason) in [
        ("size=-1", "size=-1 is not a whole number from 0 up\n"),
        ("size=1e99", "size=1e99 is not a whole number from 0 up\n"),
        (
            "size=1&unit=PB",
            "unit=PB is not KB, MB, GB or TB (1024-based; none means bytes)\n",
        ),
        (
            "size=99999999999&unit=TB",
            "size=99999999999 unit=TB is over --max-data, 1073741824 bytes\n",
        ),
    ] {
        assert_eq!(
            http_get(&app.url(&format!("/data?{query}"))),
            (400, reason.to_owned()),
            "{query}"
        );
    }
    assert_eq!(http_get(&app.url("/who")).0, 200, "still serving");
}

#[test]
fn wait_delays_the_answer() {
    let app = spawn_app();
    let start = Instant::now();
    assert_eq!(http_get(&app.url("/who?wait=300ms")).0, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn wait_works_on_every_info_page() {
    let app = spawn_app();
    for path in ["/who", "/api", "/whoami", "/health", "/data"] {
        let start = Instant::now();
        assert_eq!(
            http_get(&app.url(&format!("{path}?wait=100ms"))).0,
            200,
            "{path}"
        );
        assert!(start.elapsed() >= Duration::from_millis(100), "{path}");
    }
}

#[test]
fn a_bad_wait_gets_a_one_line_reason() {
    let app = spawn_app();
    assert_eq!(
        http_get(&app.url("/whoami?wait=forever")),
        (
            400,
            "wait=forever is not a duration such as 100ms, 1.5s or 1m30s\n".to_owned()
        )
    );
    assert_eq!(
        http_get(&app.url("/api?wait=-1s")),
        (400, "wait=-1s must not be negative\n".to_owned())
    );
}

#[test]
fn a_wait_over_max_wait_is_refused() {
    let app = app_with(Endpoints {
        max_wait: Duration::from_secs(1),
        ..Endpoints::default()
    });
    assert_eq!(
        http_get(&app.url("/who?wait=1m30s")),
        (400, "wait=1m30s is over --max-wait, 1s\n".to_owned())
    );
}

#[test]
fn posting_to_health_is_405_without_allow_health_override() {
    let app = spawn_app();
    let (status, headers, _) = call(ureq::post(&app.url("/health")));
    assert_eq!(status, 405);
    assert_eq!(header(&headers, "allow"), Some("GET, HEAD"));
}

#[test]
fn with_allow_health_override_a_posted_status_is_what_health_answers() {
    let app = app_with(Endpoints {
        allow_health_override: true,
        ..Endpoints::default()
    });
    let (status, _, body) = post(&app.url("/health"), "503");
    assert_eq!((status, body.as_str()), (200, "health status set to 503\n"));
    assert_eq!(
        http_get(&app.url("/health")),
        (503, "Service Unavailable".to_owned())
    );
    post(&app.url("/health"), "200\n");
    assert_eq!(http_get(&app.url("/health")), (200, "ok".to_owned()));
}

#[test]
fn a_health_body_that_is_not_a_status_code_is_400_and_changes_nothing() {
    let app = app_with(Endpoints {
        allow_health_override: true,
        ..Endpoints::default()
    });
    for body in ["abc", "99", "600", "", "20 0", "-200"] {
        let (status, _, reason) = post(&app.url("/health"), body);
        assert_eq!(status, 400, "{body:?}");
        assert!(
            reason.starts_with("the body must be a status code from 100 to 599, got ")
                && reason.ends_with('\n')
                && reason.lines().count() == 1,
            "{reason}"
        );
    }
    assert_eq!(http_get(&app.url("/health")).0, 200);
}

#[test]
fn env_true_is_forbidden_without_expose_env() {
    let app = spawn_app();
    for path in ["/whoami?env=true", "/api?env=true"] {
        assert_eq!(
            http_get(&app.url(path)),
            (
                403,
                "env=true needs --expose-env: environments hold secrets\n".to_owned()
            ),
            "{path}"
        );
    }
}

#[test]
fn with_expose_env_env_true_shows_the_environment() {
    let app = app_with(Endpoints {
        expose_env: true,
        ..Endpoints::default()
    });
    let path = std::env::var("PATH").unwrap();
    let (_, page) = http_get(&app.url("/whoami?env=true"));
    assert!(
        page.ends_with('\n') && page.contains(&format!("\nPATH={path}\n")),
        "{page}"
    );
    let api: Value = serde_json::from_str(&http_get(&app.url("/api?env=1")).1).unwrap();
    assert_eq!(api["environ"]["PATH"], path);
    let (_, page) = http_get(&app.url("/whoami?env=false"));
    assert!(!page.contains("PATH="));
}

#[test]
fn answers_about_the_server_or_the_request_are_never_cached() {
    let app = spawn_app();
    for path in ["/who", "/api", "/whoami", "/data?size=1", "/health"] {
        let (_, headers, _) = call(ureq::get(&app.url(path)));
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
    }
}

#[test]
fn response_headers_are_added_to_every_answer() {
    let app = app_with(Endpoints {
        response_headers: vec![
            ("x-replica".parse().unwrap(), "a".parse().unwrap()),
            ("x-replica".parse().unwrap(), "b".parse().unwrap()),
        ],
        ..Endpoints::default()
    });
    for path in ["/who", "/bench", "/nope"] {
        let (_, headers, _) = call(ureq::get(&app.url(path)));
        let replica: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == "x-replica")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(replica, ["a", "b"], "{path}");
    }
}

#[test]
fn echo_without_a_handshake_is_400_with_its_reason() {
    let app = spawn_app();
    assert_eq!(
        http_get(&app.url("/echo")),
        (
            400,
            "expected a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)\n".to_owned()
        )
    );
}

mod websocket {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::Message;

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), future).await })
            .expect("the WebSocket exchange took over 10 s")
    }

    #[test]
    fn echo_sends_text_and_binary_messages_back() {
        let app = spawn_app();
        run(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", app.addr))
                .await
                .unwrap();
            ws.send(Message::text("hello")).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
            ws.send(Message::binary(vec![0u8, 1, 255])).await.unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::binary(vec![0u8, 1, 255])
            );
        });
    }

    #[test]
    fn echo_answers_a_ping_with_a_pong() {
        let app = spawn_app();
        run(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", app.addr))
                .await
                .unwrap();
            ws.send(Message::Ping(b"are you there".to_vec().into()))
                .await
                .unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::Pong(b"are you there".to_vec().into())
            );
        });
    }

    #[test]
    fn echo_returns_a_close() {
        let app = spawn_app();
        run(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", app.addr))
                .await
                .unwrap();
            ws.close(None).await.unwrap();
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None => {}
                other => panic!("expected the close back, got {other:?}"),
            }
        });
    }

    #[test]
    fn an_open_websocket_holds_its_place_under_the_connection_cap() {
        let app = spawn_app_with(Config {
            max_connections: 1,
            ..Config::default()
        });
        let request = b"GET /who HTTP/1.1\r\nHost: who\r\n\r\n";
        run(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", app.addr))
                .await
                .unwrap();
            ws.send(Message::text("held")).await.unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("held"));
            let mut waiting = std::net::TcpStream::connect(app.addr).unwrap();
            std::io::Write::write_all(&mut waiting, request).unwrap();
            // The one slot is the WebSocket's: the next client waits in the backlog.
            assert!(
                common::answer::answer_within(&mut waiting, Duration::from_millis(500)).is_none(),
                "answered while the only slot was held by a WebSocket"
            );
            ws.close(None).await.unwrap();
            while ws.next().await.is_some() {}
            let answer = common::answer::answer_within(&mut waiting, Duration::from_secs(5))
                .expect("answered once the WebSocket closed");
            assert_eq!(answer.status(), "200");
        });
    }

    #[test]
    fn a_message_over_the_cap_closes_with_1009_and_the_server_goes_on() {
        let app = spawn_app();
        run(async {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", app.addr))
                .await
                .unwrap();
            ws.send(Message::binary(vec![7u8; 64 * 1024 + 1]))
                .await
                .unwrap();
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(frame.code, CloseCode::Size);
                    assert_eq!(frame.reason.as_str(), "max length: 65536");
                }
                other => panic!("expected a close 1009, got {other:?}"),
            }
        });
        assert_eq!(http_get(&app.url("/who")).0, 200);
    }
}

/// The page of one raw request, from the blank line after the answer's head.
fn page_of(app: &TestApp, request: &[u8]) -> String {
    let answer = String::from_utf8(exchange(app.addr, request)).unwrap();
    let (head, page) = answer.split_once("\r\n\r\n").unwrap();
    // HTTP/1.0 requests are answered in HTTP/1.0.
    assert!(
        head.starts_with("HTTP/1.") && head[8..].starts_with(" 200 OK"),
        "{head}"
    );
    page.to_owned()
}

/// The request as the page echoes it: from the request line on.
fn echoed(page: &str, request_line: &str) -> String {
    page[page.find(request_line).unwrap_or_else(|| panic!("{page}"))..].to_owned()
}

#[test]
fn the_page_says_content_length_0_for_a_post_without_a_body_and_nothing_for_a_get() {
    let app = spawn_app();
    let page = page_of(
        &app,
        b"POST /whoami HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        echoed(&page, "POST"),
        "POST /whoami HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let page = page_of(
        &app,
        b"GET /whoami HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        echoed(&page, "GET"),
        "GET /whoami HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn the_page_says_transfer_encoding_chunked_and_echoes_the_body_whole() {
    let app = spawn_app();
    let page = page_of(
        &app,
        b"PUT /whoami HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(
        echoed(&page, "PUT"),
        "PUT /whoami HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nabcde"
    );
}

#[test]
fn an_http_1_0_request_without_connection_is_shown_with_connection_close_as_go_does() {
    let app = spawn_app();
    let page = page_of(&app, b"GET /whoami HTTP/1.0\r\nHost: h\r\n\r\n");
    assert_eq!(
        echoed(&page, "GET"),
        "GET /whoami HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn an_http_1_1_request_without_connection_is_shown_without_one() {
    let app = spawn_app();
    // Kept alive: the answer is read by its length, not up to a close.
    let mut stream = std::net::TcpStream::connect(app.addr).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /whoami HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    let answer = common::answer::answer_within(&mut stream, Duration::from_secs(5))
        .expect("an answer within 5 s");
    assert_eq!(answer.status(), "200", "{}", answer.head);
    let page = String::from_utf8(answer.body).unwrap();
    assert_eq!(
        echoed(&page, "GET"),
        "GET /whoami HTTP/1.1\r\nHost: h\r\n\r\n"
    );
}

#[test]
fn a_get_with_a_body_is_shown_with_its_content_length_and_body() {
    let app = spawn_app();
    let page = page_of(
        &app,
        b"GET /whoami HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert_eq!(
        echoed(&page, "GET"),
        "GET /whoami HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    );
}

#[test]
fn an_absolute_target_gives_its_host_and_only_its_path() {
    let app = spawn_app();
    let page = page_of(
        &app,
        b"GET http://example.test/whoami?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
    );
    assert!(
        page.contains("GET /whoami?q=1 HTTP/1.1\r\nHost: example.test\r\n"),
        "{page}"
    );
}

#[test]
fn a_wait_of_exactly_max_wait_is_served() {
    let app = app_with(Endpoints {
        max_wait: Duration::from_millis(50),
        ..Endpoints::default()
    });
    assert_eq!(http_get(&app.url("/who?wait=50ms")).0, 200);
}

#[test]
fn other_methods_on_the_fixed_paths_get_405_with_what_is_allowed() {
    let app = app_with(Endpoints {
        allow_health_override: true,
        ..Endpoints::default()
    });
    for (method, path, allow) in [
        ("PUT", "/health", "GET, HEAD, POST"),
        ("POST", "/echo", "GET"),
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/bench", "GET, HEAD"),
        ("POST", "/data", "GET, HEAD"),
    ] {
        let (status, headers, _) = call(ureq::request(method, &app.url(path)));
        assert_eq!(status, 405, "{method} {path}");
        assert_eq!(header(&headers, "allow"), Some(allow), "{method} {path}");
    }
}

#[test]
fn a_websocket_handshake_without_version_13_or_a_key_is_400_with_its_reason() {
    let app = spawn_app();
    let upgrade = "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n";
    for (extra, reason) in [
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            "the WebSocket handshake needs Sec-WebSocket-Version: 13\n",
        ),
        (
            "Sec-WebSocket-Version: 13\r\n",
            "the WebSocket handshake lacks Sec-WebSocket-Key\n",
        ),
    ] {
        let request = format!("{upgrade}{extra}Connection: close\r\n\r\n");
        let answer = String::from_utf8(exchange(app.addr, request.as_bytes())).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.ends_with(reason), "{answer}");
    }
}

#[test]
fn a_websocket_handshake_needs_both_connection_upgrade_and_upgrade_websocket() {
    let app = spawn_app();
    let version_and_key =
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    // `close` too, so that the answer ends the exchange.
    for only in [
        "Connection: Upgrade, close\r\n",
        "Upgrade: websocket\r\nConnection: close\r\n",
    ] {
        let request = format!("GET /echo HTTP/1.1\r\nHost: h\r\n{only}{version_and_key}\r\n");
        let answer = String::from_utf8(exchange(app.addr, request.as_bytes())).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{only}: {answer}");
        assert!(
            answer.ends_with(
                "expected a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)\n"
            ),
            "{only}: {answer}"
        );
    }
}

#[test]
fn the_websocket_handshake_answers_rfc_6455s_accept_key() {
    let app = spawn_app();
    let mut stream = std::net::TcpStream::connect(app.addr).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = [0u8; 512];
    let n = stream.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
}
