//! `/echo`: WebSocket echo, as whoami's (text and binary messages sent
//! back as they came), on fastwebsockets over hyper's upgrade. Pings are
//! answered and a close is returned by the library; a frame over
//! [`MAX_FRAME`] closes the connection with 1009 (message too big).

use fastwebsockets::upgrade::{is_upgrade_request, upgrade, UpgradeFut};
use fastwebsockets::{Frame, OpCode, WebSocketError};
use hyper::{Request, Response};

/// The largest frame taken. A fragmented message may be longer: it is
/// echoed fragment by fragment, so nothing holds more than a frame.
pub const MAX_FRAME: usize = 64 * 1024;

/// The 101 answer, with the echo spawned to run once the upgrade is done;
/// `Err` holds the one-line reason when the request is no WebSocket handshake.
pub fn start<B>(req: &mut Request<B>) -> Result<Response<()>, &'static str> {
    if !is_upgrade_request(req) {
        return Err("expected a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)");
    }
    let (response, upgraded) = upgrade(req).map_err(|e| match e {
        WebSocketError::MissingSecWebSocketKey => "the WebSocket handshake lacks Sec-WebSocket-Key",
        _ => "the WebSocket handshake needs Sec-WebSocket-Version: 13",
    })?;
    tokio::spawn(echo(upgraded));
    Ok(response.map(|_| ()))
}

async fn echo(upgraded: UpgradeFut) {
    let Ok(mut ws) = upgraded.await else { return };
    ws.set_max_message_size(MAX_FRAME);
    loop {
        let frame = match ws.read_frame().await {
            Ok(frame) => frame,
            Err(WebSocketError::FrameTooLarge) => {
                let reason = format!("frame over {MAX_FRAME} bytes");
                let _ = ws.write_frame(Frame::close(1009, reason.as_bytes())).await;
                return;
            }
            // The client went away or broke the protocol: nothing to answer.
            Err(_) => return,
        };
        match frame.opcode {
            // Frame by frame, fragments as they came: a long message never
            // has to be held whole.
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                let reply = Frame::new(frame.fin, frame.opcode, None, frame.payload);
                if ws.write_frame(reply).await.is_err() {
                    return;
                }
            }
            // The library has answered the close already.
            OpCode::Close => return,
            _ => {}
        }
    }
}
