//! HTTP/2 (h2c with prior knowledge) through hyper's connection-level client.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use squall_metrics::ErrorKind;

use super::{ExchangeError, Origin, PreparedRequest, Response, Stream, Want};

/// One HTTP/2 connection.
pub struct H2Conn {
    sender: http2::SendRequest<Full<Bytes>>,
    scheme: &'static str,
}

impl H2Conn {
    /// Performs the HTTP/2 handshake on a connected stream.
    pub async fn handshake(origin: &Origin, stream: Stream) -> Result<Self, ExchangeError> {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(|e| {
                ExchangeError::new(
                    ErrorKind::Connect,
                    format!("h2 handshake with {}: {e}", origin.authority),
                )
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let scheme = if origin.scheme == "https" {
            "https"
        } else {
            "http"
        };
        Ok(Self { sender, scheme })
    }

    /// Sends `req` on a new stream and reads the whole response.
    pub async fn exchange(
        &mut self,
        req: &PreparedRequest,
        want: Want,
    ) -> Result<Response, ExchangeError> {
        let uri = format!("{}://{}{}", self.scheme, req.authority, req.path);
        let mut builder = http::Request::builder().method(req.method.clone()).uri(uri);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder.body(Full::new(req.body.clone())).map_err(|e| {
            ExchangeError::new(ErrorKind::Protocol, format!("invalid request: {e}"))
        })?;
        self.sender.ready().await.map_err(|e| ExchangeError {
            kind: ErrorKind::Protocol,
            detail: format!("h2 connection: {e}"),
            stale: true,
        })?;
        let res = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| ExchangeError::new(ErrorKind::Protocol, format!("h2 request: {e}")))?;
        let mut resp = Response {
            status: res.status().as_u16(),
            first_byte: Some(Instant::now()),
            keep_alive: true,
            ..Response::default()
        };
        for (k, v) in res.headers() {
            resp.bytes_in += (k.as_str().len() + v.len()) as u64;
            if k == http::header::LOCATION {
                resp.location = Some(String::from_utf8_lossy(v.as_bytes()).into_owned());
            } else if k == http::header::SET_COOKIE {
                resp.set_cookies
                    .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
            }
            if want.headers {
                resp.headers.push((
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                ));
            }
        }
        let mut body = res.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| ExchangeError::new(ErrorKind::Protocol, format!("h2 body: {e}")))?;
            if let Some(data) = frame.data_ref() {
                resp.bytes_in += data.len() as u64;
                if want.body {
                    resp.body.extend_from_slice(data);
                }
            }
        }
        Ok(resp)
    }
}
