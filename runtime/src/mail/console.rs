//! [`ConsoleMailer`], which prints mail for development, and (feature `test-util`)
//! [`CaptureBuffer`], a writer tests read back.

use std::fmt;
use std::io::Write;
#[cfg(any(test, feature = "test-util"))]
use std::sync::Arc;
use std::sync::Mutex;

use super::{Mail, Mailer, mail_failed};
use crate::error::Result;

/// A development mailer that prints each mail — recipient, subject and text body, link
/// included — to standard output or to a writer of your choice.
///
/// **It prints the single-use links in clear, by design**: that is its job. Use it in
/// development and tests only, never where the output reaches shared logs.
///
/// ```
/// # async fn demo() -> centurion::Result<()> {
/// use centurion::mail::{CaptureBuffer, ConsoleMailer, Mail, Mailer};
///
/// let out = CaptureBuffer::new();
/// let mailer = ConsoleMailer::new(out.clone());
/// mailer.send(&Mail::new("ada@example.com", "Confirm", "Open https://x.example/c#token=t")).await?;
/// let printed = out.contents();
/// assert!(printed.contains("To: ada@example.com"));
/// assert!(printed.contains("https://x.example/c#token=t"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct ConsoleMailer {
    out: Mutex<Box<dyn Write + Send>>,
}

impl ConsoleMailer {
    /// Prints to standard output.
    ///
    /// ```
    /// let mailer = centurion::mail::ConsoleMailer::stdout();
    /// # let _ = mailer;
    /// ```
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    /// Prints to `writer` (a `CaptureBuffer` in tests, feature `test-util`).
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Mutex::new(Box::new(writer)),
        }
    }

    fn print(&self, mail: &Mail) -> std::io::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| std::io::Error::other("the console mailer's lock is poisoned"))?;
        let mut text = String::new();
        text.push_str("----- mail (centurion ConsoleMailer, development only) -----\n");
        text.push_str(&format!("To: {}\nSubject: {}\n", mail.to, mail.subject));
        if let Some(html) = &mail.html {
            text.push_str(&format!(
                "(an HTML alternative of {} bytes is not shown)\n",
                html.len()
            ));
        }
        text.push('\n');
        text.push_str(mail.text.trim_end());
        text.push_str("\n----- end of mail -----\n");
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

impl Default for ConsoleMailer {
    fn default() -> Self {
        Self::stdout()
    }
}

impl fmt::Debug for ConsoleMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleMailer").finish_non_exhaustive()
    }
}

impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        self.print(mail).map_err(|e| {
            tracing::warn!(to = %mail.to, error = %e, "the console mailer could not print a mail");
            mail_failed(e)
        })
    }
}

#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
/// A cloneable in-memory writer, to capture what a [`ConsoleMailer`] prints.
///
/// ```
/// use std::io::Write;
/// use centurion::mail::CaptureBuffer;
/// let buffer = CaptureBuffer::new();
/// buffer.clone().write_all(b"hello").unwrap();
/// assert_eq!(buffer.contents(), "hello");
/// ```
#[derive(Clone, Default)]
pub struct CaptureBuffer(Arc<Mutex<Vec<u8>>>);

#[cfg(any(test, feature = "test-util"))]
impl CaptureBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Empties the buffer.
    pub fn clear(&self) {
        if let Ok(mut b) = self.0.lock() {
            b.clear();
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(any(test, feature = "test-util"))]
impl fmt::Debug for CaptureBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.lock().map_or(0, |b| b.len());
        f.debug_struct("CaptureBuffer").field("len", &len).finish()
    }
}
