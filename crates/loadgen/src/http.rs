//! A small HTTP/1.1 client on one keep-alive TCP connection: what a polling client needs and
//! nothing more. Responses may use `Content-Length`, chunked encoding, or end at connection
//! close; everything is bounded (line length, header count, body size).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::net::Net;

/// Longest status, header or chunk-size line accepted.
const MAX_LINE: u64 = 8 * 1024;
/// Most header lines accepted in one response.
const MAX_HEADERS: usize = 100;
/// Largest response body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The content type of an xhr-polling POST, as the 0.9 client sends it.
pub(crate) const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";
/// The content type of a jsonp-polling POST (a form with the field `d`).
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// One response.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// The body, decoded as UTF-8.
    pub(crate) body: String,
}

/// A keep-alive HTTP/1.1 connection that reconnects when the server has closed it between
/// requests (an idle keep-alive timeout), never in the middle of one.
#[derive(Debug)]
pub(crate) struct HttpConn {
    net: Arc<Net>,
    target: SocketAddr,
    host: String,
    io: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

impl HttpConn {
    /// Connects to `target`.
    pub(crate) async fn connect(net: Arc<Net>, target: SocketAddr) -> Result<Self> {
        let stream = net.connect(target).await?;
        Ok(HttpConn {
            net,
            target,
            host: target.to_string(),
            io: Some(BufReader::with_capacity(4096, stream)),
            reconnects: 0,
        })
    }

    /// The server this connection talks to.
    pub(crate) fn target(&self) -> SocketAddr {
        self.target
    }

    /// How many times the connection was reopened after the server closed it.
    pub(crate) fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// `GET path`.
    pub(crate) async fn get(&mut self, path: &str) -> Result<Response> {
        self.request("GET", path, None).await
    }

    /// `POST path` with a body of `content_type`.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Response> {
        self.request("POST", path, Some((content_type, body))).await
    }

    /// Writes a `GET path` without reading the response (to abandon it).
    pub(crate) async fn send_get(&mut self, path: &str) -> Result<()> {
        let request = self.head("GET", path, None);
        self.write(&request).await
    }

    /// Writes a `POST path` that announces `declared` body bytes but carries only `part`, and
    /// reads nothing: a body that stalls. [`HttpConn::response`] reads what the server answers.
    pub(crate) async fn send_partial_post(
        &mut self,
        path: &str,
        declared: usize,
        part: &str,
    ) -> Result<()> {
        let mut request = self.head("POST", path, Some((TEXT_PLAIN, declared)));
        request.push_str(part);
        self.write(&request).await
    }

    /// Reads one response to a request already written.
    pub(crate) async fn response(&mut self) -> Result<Response> {
        let io = self
            .io
            .as_mut()
            .ok_or_else(|| Error::Closed("connection unavailable".to_owned()))?;
        let (response, keep_alive) = read_response(io).await?;
        if !keep_alive {
            self.io = None;
        }
        Ok(response)
    }

    async fn write(&mut self, request: &str) -> Result<()> {
        let io = self.usable().await?;
        io.get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(Error::io("writing a request"))
    }

    /// The request line and headers; `body` gives the content type and length of a body.
    fn head(&self, method: &str, path: &str, body: Option<(&str, usize)>) -> String {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: keep-alive\r\n",
            self.host
        );
        if let Some((content_type, length)) = body {
            request.push_str(&format!("Content-Type: {content_type}\r\n"));
            request.push_str(&format!("Content-Length: {length}\r\n"));
        }
        request.push_str("\r\n");
        request
    }

    /// The connection, reopened first if the server closed it while it was idle.
    async fn usable(&mut self) -> Result<&mut BufReader<TcpStream>> {
        let stale = match &self.io {
            None => true,
            Some(io) => {
                if !io.buffer().is_empty() {
                    return Err(Error::Http(
                        "the server sent bytes outside any response".to_owned(),
                    ));
                }
                let mut probe = [0u8; 1];
                match io.get_ref().try_read(&mut probe) {
                    Ok(0) => true,
                    Ok(_) => {
                        return Err(Error::Http(
                            "the server sent bytes outside any response".to_owned(),
                        ));
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => false,
                    Err(_) => true,
                }
            }
        };
        if stale {
            let stream = self.net.connect(self.target).await?;
            self.io = Some(BufReader::with_capacity(4096, stream));
            self.reconnects += 1;
        }
        self.io
            .as_mut()
            .ok_or_else(|| Error::Closed("connection unavailable".to_owned()))
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Result<Response> {
        let mut request = self.head(
            method,
            path,
            body.map(|(content_type, body)| (content_type, body.len())),
        );
        if let Some((_, body)) = body {
            request.push_str(body);
        }
        self.write(&request).await?;
        self.response().await
    }
}

async fn read_line(io: &mut BufReader<TcpStream>, line: &mut String) -> Result<()> {
    line.clear();
    let read = (&mut *io)
        .take(MAX_LINE)
        .read_line(line)
        .await
        .map_err(Error::io("reading a response"))?;
    if read == 0 {
        return Err(Error::Closed(
            "the server closed the connection before a complete response".to_owned(),
        ));
    }
    if !line.ends_with('\n') {
        return Err(Error::Http(format!(
            "response line longer than {MAX_LINE} bytes"
        )));
    }
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(())
}

/// Reads one response; the flag says whether the connection stays open after it.
async fn read_response(io: &mut BufReader<TcpStream>) -> Result<(Response, bool)> {
    let mut line = String::new();
    read_line(io, &mut line).await?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| Error::Http(format!("bad status line {line:?}")))?;
    if !version.starts_with("HTTP/1.") {
        return Err(Error::Http(format!("bad status line {line:?}")));
    }
    let mut keep_alive = version == "HTTP/1.1";
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut headers = 0;
    loop {
        read_line(io, &mut line).await?;
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(Error::Http(format!("more than {MAX_HEADERS} headers")));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Error::Http(format!("bad header line {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let parsed = value
                .parse()
                .map_err(|_| Error::Http(format!("bad Content-Length {value:?}")))?;
            length = Some(parsed);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                keep_alive = false;
            } else if value.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let body = if chunked {
        read_chunked(io, &mut line).await?
    } else if let Some(length) = length {
        if length > MAX_BODY {
            return Err(Error::Http(format!("body of {length} bytes is too large")));
        }
        let mut body = vec![0u8; length];
        io.read_exact(&mut body)
            .await
            .map_err(Error::io("reading a body"))?;
        body
    } else if status < 200 || status == 204 || status == 304 {
        Vec::new()
    } else {
        // Delimited by the end of the connection.
        keep_alive = false;
        let mut body = Vec::new();
        (&mut *io)
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .await
            .map_err(Error::io("reading a body"))?;
        if body.len() > MAX_BODY {
            return Err(Error::Http("body too large".to_owned()));
        }
        body
    };
    let body = String::from_utf8(body).map_err(|_| Error::Http("body is not UTF-8".to_owned()))?;
    Ok((Response { status, body }, keep_alive))
}

async fn read_chunked(io: &mut BufReader<TcpStream>, line: &mut String) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        read_line(io, line).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| Error::Http(format!("bad chunk size {size:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            for _ in 0..=MAX_HEADERS {
                read_line(io, line).await?;
                if line.is_empty() {
                    return Ok(body);
                }
            }
            return Err(Error::Http("too many trailers".to_owned()));
        }
        if body.len() + size > MAX_BODY {
            return Err(Error::Http("chunked body too large".to_owned()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        io.read_exact(&mut body[start..])
            .await
            .map_err(Error::io("reading a chunk"))?;
        read_line(io, line).await?;
        if !line.is_empty() {
            return Err(Error::Http("chunk not followed by CRLF".to_owned()));
        }
    }
}
