//! A minimal, allocation-free HTTP/1.1 keep-alive client for load generation.
//!
//! Written by hand (with `httparse` for the response head) because the
//! general-purpose clients do work a generator does not need: building
//! header maps, boxing bodies, pooling. Here a request is one `write` of
//! pre-encoded bytes and the response is parsed in a reused buffer.

use std::time::Instant;

use squall_metrics::ErrorKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ExchangeError, PreparedRequest, Response, Stream, Want};

/// Initial read buffer: small, so 10,000 idle connections cost little.
const BUF: usize = 4 * 1024;
/// The buffer doubles when reads fill it, up to this size.
const MAX_BUF: usize = 64 * 1024;
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 48;

/// One HTTP/1.1 connection.
pub struct H1Conn {
    stream: Stream,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    used: bool,
}

impl H1Conn {
    /// Wraps a connected stream.
    pub fn new(stream: Stream) -> Self {
        Self {
            stream,
            buf: vec![0; BUF].into_boxed_slice(),
            pos: 0,
            len: 0,
            used: false,
        }
    }

    /// Sends `req` and reads its response.
    pub async fn exchange(
        &mut self,
        req: &PreparedRequest,
        want: Want,
    ) -> Result<Response, ExchangeError> {
        let reused = self.used;
        self.used = true;
        if let Err(e) = self.stream.write_all(&req.wire).await {
            let mut err = io_err(e, "write");
            err.stale = reused;
            return Err(err);
        }
        let mut resp = Response {
            keep_alive: true,
            ..Response::default()
        };
        let framing = loop {
            let framing = match self.read_head(&mut resp, want).await {
                Ok(f) => f,
                Err(mut e) => {
                    e.stale = reused && resp.bytes_in == 0 && e.kind == ErrorKind::Protocol;
                    return Err(e);
                }
            };
            // Interim responses (100 Continue, 103 Early Hints) precede the real one.
            if (100..200).contains(&resp.status) && resp.status != 101 {
                continue;
            }
            break framing;
        };
        let body_len = if req.is_head() || resp.status == 204 || resp.status == 304 {
            Framing::Length(0)
        } else {
            framing
        };
        match body_len {
            Framing::Length(n) => self.read_exact_body(n, &mut resp, want).await?,
            Framing::Chunked => self.read_chunked(&mut resp, want).await?,
            Framing::UntilClose => {
                resp.keep_alive = false;
                self.read_to_close(&mut resp, want).await?;
            }
        }
        Ok(resp)
    }

    /// Reads more bytes into the buffer; 0 means the peer closed.
    async fn fill(&mut self) -> Result<usize, ExchangeError> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        } else if self.len == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.len, 0);
                self.len -= self.pos;
                self.pos = 0;
            } else {
                let mut bigger = vec![0; self.buf.len() * 2].into_boxed_slice();
                bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
                self.buf = bigger;
            }
        }
        let room = self.buf.len() - self.len;
        let n = self
            .stream
            .read(&mut self.buf[self.len..])
            .await
            .map_err(|e| io_err(e, "read"))?;
        self.len += n;
        // Large responses: fewer, bigger reads next time.
        if n == room && self.buf.len() < MAX_BUF {
            let mut bigger = vec![0; self.buf.len() * 2].into_boxed_slice();
            bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
            self.buf = bigger;
        }
        Ok(n)
    }

    async fn read_head(
        &mut self,
        resp: &mut Response,
        want: Want,
    ) -> Result<Framing, ExchangeError> {
        loop {
            if self.len > self.pos {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut parsed = httparse::Response::new(&mut headers);
                match parsed.parse(&self.buf[self.pos..self.len]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let framing = head_info(&parsed, resp, want)?;
                        self.pos += n;
                        resp.bytes_in += n as u64;
                        return Ok(framing);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.len - self.pos > MAX_HEAD {
                            return Err(ExchangeError::new(
                                ErrorKind::Protocol,
                                "response head larger than 64 KiB",
                            ));
                        }
                    }
                    Err(e) => {
                        return Err(ExchangeError::new(
                            ErrorKind::Protocol,
                            format!("malformed response head: {e}"),
                        ));
                    }
                }
            }
            let before = self.len - self.pos;
            if self.fill().await? == 0 {
                let what = if before == 0 && resp.bytes_in == 0 {
                    "connection closed before the response"
                } else {
                    "connection closed in the middle of the response head"
                };
                return Err(ExchangeError::new(ErrorKind::Protocol, what));
            }
            if resp.first_byte.is_none() {
                resp.first_byte = Some(Instant::now());
            }
        }
    }

    /// Consumes up to `n` buffered body bytes, keeping them if wanted.
    fn take(&mut self, n: usize, resp: &mut Response, want: Want) -> usize {
        let k = n.min(self.len - self.pos);
        if want.body {
            resp.body
                .extend_from_slice(&self.buf[self.pos..self.pos + k]);
        }
        self.pos += k;
        resp.bytes_in += k as u64;
        k
    }

    async fn read_exact_body(
        &mut self,
        mut n: u64,
        resp: &mut Response,
        want: Want,
    ) -> Result<(), ExchangeError> {
        while n > 0 {
            if self.pos == self.len && self.fill().await? == 0 {
                return Err(ExchangeError::new(
                    ErrorKind::Protocol,
                    "connection closed in the middle of the body",
                ));
            }
            n -= self.take(n.min(usize::MAX as u64) as usize, resp, want) as u64;
        }
        Ok(())
    }

    async fn read_to_close(
        &mut self,
        resp: &mut Response,
        want: Want,
    ) -> Result<(), ExchangeError> {
        loop {
            self.take(usize::MAX, resp, want);
            if self.fill().await? == 0 {
                return Ok(());
            }
        }
    }

    /// Reads one CRLF-terminated line, returning its bytes without CRLF.
    async fn line(&mut self, resp: &mut Response) -> Result<Vec<u8>, ExchangeError> {
        loop {
            if let Some(i) = self.buf[self.pos..self.len]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 2;
                resp.bytes_in += i as u64 + 2;
                return Ok(line);
            }
            if self.len - self.pos > 4096 {
                return Err(ExchangeError::new(
                    ErrorKind::Protocol,
                    "chunk header too long",
                ));
            }
            if self.fill().await? == 0 {
                return Err(ExchangeError::new(
                    ErrorKind::Protocol,
                    "connection closed in a chunked body",
                ));
            }
        }
    }

    async fn read_chunked(&mut self, resp: &mut Response, want: Want) -> Result<(), ExchangeError> {
        loop {
            let line = self.line(resp).await?;
            let size = std::str::from_utf8(&line)
                .ok()
                .and_then(|s| {
                    u64::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok()
                })
                .ok_or_else(|| ExchangeError::new(ErrorKind::Protocol, "malformed chunk size"))?;
            if size == 0 {
                // Trailers, then an empty line.
                while !self.line(resp).await?.is_empty() {}
                return Ok(());
            }
            self.read_exact_body(size, resp, want).await?;
            if !self.line(resp).await?.is_empty() {
                return Err(ExchangeError::new(
                    ErrorKind::Protocol,
                    "chunk not followed by CRLF",
                ));
            }
        }
    }
}

enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

fn head_info(
    parsed: &httparse::Response<'_, '_>,
    resp: &mut Response,
    want: Want,
) -> Result<Framing, ExchangeError> {
    resp.status = parsed.code.unwrap_or(0);
    let http10 = parsed.version == Some(0);
    let mut length = None;
    let mut chunked = false;
    let mut conn_close = http10;
    for h in parsed.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            length = Some(v.ok_or_else(|| {
                ExchangeError::new(ErrorKind::Protocol, "invalid content-length")
            })?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = h.value;
            if v.windows(5).any(|w| w.eq_ignore_ascii_case(b"close")) {
                conn_close = true;
            } else if v.windows(10).any(|w| w.eq_ignore_ascii_case(b"keep-alive")) {
                conn_close = false;
            }
        } else if h.name.eq_ignore_ascii_case("location") {
            resp.location = Some(String::from_utf8_lossy(h.value).into_owned());
        } else if h.name.eq_ignore_ascii_case("set-cookie") {
            resp.set_cookies
                .push(String::from_utf8_lossy(h.value).into_owned());
        }
        if want.headers {
            resp.headers.push((
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            ));
        }
    }
    resp.keep_alive = !conn_close;
    Ok(if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    })
}

fn io_err(e: std::io::Error, op: &str) -> ExchangeError {
    ExchangeError::new(ErrorKind::Protocol, format!("{op}: {e}"))
}
