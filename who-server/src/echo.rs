//! `/echo`: WebSocket echo, as whoami's: text and binary messages sent back
//! as they came. tokio-websockets, server side only, over hyper's upgrade:
//! it answers pings and returns a close itself, and refuses a message over
//! [`MAX_MESSAGE`] with a close 1009 (message too big). Chosen over
//! fastwebsockets, which links a random generator for client masking that
//! a server never uses (README, "Build choices, measured").

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::upgrade::OnUpgrade;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio_websockets::{Limits, ServerBuilder};

use crate::server::Slot;

/// The largest message echoed, whole or in fragments: the most one
/// connection makes the server hold.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// RFC 6455's GUID, appended to the client's key for the accept hash.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The 101 answer, with the echo spawned to run once the upgrade is done;
/// `Err` holds the one-line reason when the request is no WebSocket handshake.
///
/// The echo holds `slot`, the connection's place under the cap, until it
/// ends: an upgraded connection still counts as one.
pub fn start<B>(req: &mut Request<B>, slot: Slot) -> Result<Response<()>, &'static str> {
    let headers = req.headers();
    let has = |name, token: &str| {
        headers.get_all(name).iter().any(|value: &HeaderValue| {
            value
                .to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !(has(CONNECTION, "upgrade") && has(UPGRADE, "websocket")) {
        return Err("expected a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)");
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err("the WebSocket handshake needs Sec-WebSocket-Version: 13");
    }
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY) else {
        return Err("the WebSocket handshake lacks Sec-WebSocket-Key");
    };
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1.digest().bytes());
    let Some(upgrade) = req.extensions_mut().remove::<OnUpgrade>() else {
        return Err("this connection cannot be upgraded");
    };
    tokio::spawn(echo(upgrade, slot));
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    // Base64 is always a valid header value.
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(response)
}

async fn echo(upgrade: OnUpgrade, _slot: Slot) {
    let Ok(upgraded) = upgrade.await else { return };
    let limits = Limits::default().max_payload_len(Some(MAX_MESSAGE));
    let mut ws = ServerBuilder::new()
        .limits(limits)
        .serve(TokioIo::new(upgraded));
    // After an error (a message over the cap among them) the next poll
    // sends the close the library queued, then ends.
    while let Some(message) = ws.next().await {
        let Ok(message) = message else { continue };
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
    // The client may still be sending: a message over the cap is refused
    // on its header, its payload unread. Closing with unread bytes would
    // reset the connection, and the client could lose our close before
    // reading it; so read and drop what comes, for a moment at most.
    let io = ws.get_mut();
    let mut unread = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(1..) = io.read(&mut unread).await {}
    })
    .await;
}

/// How long a closing echo reads what the client still sends.
const LINGER: Duration = Duration::from_secs(1);
