// SPDX-License-Identifier: GPL-3.0-or-later
//! Logs: standard error always (journald under systemd), plus daily files when `[log] dir` is set.
//!
//! Under systemd (`JOURNAL_STREAM` set) lines carry no timestamp (journald adds its own) and start with a
//! `<N>` syslog priority, so `journalctl -p warning` works. With `[log] dir`, everything at the chosen
//! level goes to `labelstation.log.YYYY-MM-DD` files (the newest `keep_files` kept) and standard error
//! keeps only warnings and errors.
//!
//! Log lines carry codes only in their masked form. As a last guard, every line passes through
//! [`scrub`], which blanks whatever follows a GS separator: a complete code logged by mistake loses its
//! verification key and crypto tail before it reaches a file.

use std::io::{self, Write};
use std::path::PathBuf;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, Paths};

/// Keeps the file writer flushing; hold it until the program ends.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Replace what follows each GS (0x1D) up to the end of the token with `****`, and any text between
/// `(92)`/`(91)` markers that is not already masked.
pub fn scrub(line: &str) -> String {
    if !line.contains('\u{1d}') {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len());
    let mut masking = false;
    for c in line.chars() {
        if c == '\u{1d}' {
            out.push_str("<GS>****");
            masking = true;
        } else if masking && !c.is_whitespace() && c != '"' && c != '\'' {
            // dropped
        } else {
            masking = false;
            out.push(c);
        }
    }
    out
}

/// A writer that scrubs each formatted line before passing it on.
struct Scrubbing<W>(W);

impl<W: Write> Write for Scrubbing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[derive(Clone)]
struct ScrubbingMake<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for ScrubbingMake<M> {
    type Writer = Scrubbing<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        Scrubbing(self.0.make_writer())
    }
}

/// Prefixes each line with its syslog priority (`<3>` error … `<7>` debug) for journald.
struct JournalPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPriority<F>
where
    F: FormatEvent<S, N>,
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let p = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{p}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

fn level_name(verbose: u8) -> &'static str {
    match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    }
}

/// Set up logging for one run of the program. The config is read here only for `[log]`; a config that
/// does not load leaves logging on standard error (the command itself reports the config error).
pub fn init(verbose: u8, data_dir: Option<PathBuf>, config: Option<PathBuf>) -> LogGuard {
    let log = Paths::resolve(data_dir, config)
        .ok()
        .and_then(|p| Config::load(&p).ok())
        .map(|c| c.log)
        .unwrap_or_default();
    // `--verbose` raises the level; RUST_LOG, when set, decides instead.
    let filter = || {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level_name(verbose)))
    };
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let ansi = !journal && io::IsTerminal::is_terminal(&io::stderr());
    let dir = log.dir.trim();

    let (file_layer, guard) = if dir.is_empty() {
        (None, None)
    } else {
        let dir = PathBuf::from(dir);
        let appender = super::private_dir(&dir).ok().and_then(|()| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("labelstation.log")
                .max_log_files(log.keep_files.max(1) as usize)
                .build(&dir)
                .map_err(|e| {
                    eprintln!(
                        "warning: cannot log to {} ({e}); logging to standard error only. Check log.dir and its permissions.",
                        dir.display()
                    )
                })
                .ok()
        });
        match appender {
            Some(a) => {
                let (nb, guard) = tracing_appender::non_blocking(a);
                let layer = tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(ScrubbingMake(nb))
                    .with_filter(filter());
                (Some(layer), Some(guard))
            }
            None => (None, None),
        }
    };
    let stderr_filter = if file_layer.is_some() {
        EnvFilter::new("warn")
    } else {
        filter()
    };
    let stderr_make = ScrubbingMake(io::stderr);
    let stderr_layer = if journal {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .event_format(JournalPriority(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_ansi(false),
            ))
            .with_writer(stderr_make)
            .with_filter(stderr_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(stderr_make)
            .with_filter(stderr_filter)
            .boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
    LogGuard(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_blanks_what_follows_a_separator() {
        let code = "0104601234567893215ABCDEFGHIJKL\u{1d}91FFD0\u{1d}92dGVzdGNyeXB0b3RhaWw=";
        let line = format!("scanned {code} at line 3");
        let s = scrub(&line);
        assert!(!s.contains("FFD0") && !s.contains("dGVz"), "{s}");
        assert!(s.starts_with("scanned 0104601234567893215ABCDEFGHIJKL<GS>****<GS>****"));
        assert!(s.ends_with(" at line 3"));
        assert_eq!(scrub("no codes here"), "no codes here");
    }
}
