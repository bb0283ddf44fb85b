//! Provider logs in the form Terraform understands.
//!
//! Terraform (through go-plugin) reads the plugin's stderr line by line; a line that is a
//! JSON object with `@level`, `@message` and `@timestamp` is treated as a structured
//! hclog entry and shown under `TF_LOG` / `TF_LOG_PROVIDER` at that level. We emit exactly
//! that. The level follows `TF_LOG_PROVIDER`, else `TF_LOG` (Terraform passes its
//! environment to the plugin), else WARN; `K0STACK_LOG` takes a full `tracing` filter.
//!
//! Terraform drops every plugin line unless `TF_LOG`/`TF_LOG_PROVIDER` is set, so
//! `K0STACK_LOG` on its own would show nothing: then (and whenever `K0STACK_LOG_FILE` names
//! a file) the lines also go, as plain text, to `K0STACK_LOG_FILE` or `k0stack.log` in the
//! directory Terraform runs in. Library internals (hyper, h2, tower, rustls, reqwest,
//! kube-rs) speak only at TRACE; our own request lines (OpenStack and Kubernetes) are DEBUG.
//! Secrets never reach here: they are [`crate::framework::Secret`]s, whose `Debug` is `***`.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Formats one event as an hclog JSON line.
pub struct HclogFormat;

struct JsonVisitor<'a> {
    message: String,
    fields: &'a mut Map<String, Value>,
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields
                .insert(field.name().to_string(), Value::from(value));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields
            .insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields
            .insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .insert(field.name().to_string(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields
            .insert(field.name().to_string(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .insert(field.name().to_string(), Value::from(format!("{value:?}")));
        }
    }
}

/// An event's message and its other fields, as JSON values.
fn message_and_fields(event: &Event<'_>) -> (String, Map<String, Value>) {
    let mut fields = Map::new();
    let mut visitor = JsonVisitor {
        message: String::new(),
        fields: &mut fields,
    };
    event.record(&mut visitor);
    let message = std::mem::take(&mut visitor.message);
    (message, fields)
}

/// hclog's level names.
pub fn hclog_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Renders one log line (pure, for tests).
pub fn render_line(
    level: &Level,
    target: &str,
    message: &str,
    fields: Map<String, Value>,
    timestamp: &str,
) -> String {
    let mut obj = Map::new();
    obj.insert("@level".into(), Value::from(hclog_level(level)));
    obj.insert("@message".into(), Value::from(message));
    obj.insert("@module".into(), Value::from(target.replace("::", ".")));
    obj.insert("@timestamp".into(), Value::from(timestamp));
    for (k, v) in fields {
        obj.entry(k).or_insert(v);
    }
    Value::Object(obj).to_string()
}

impl<S, N> FormatEvent<S, N> for HclogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (message, fields) = message_and_fields(event);
        let meta = event.metadata();
        let now = humantime_now();
        writeln!(
            writer,
            "{}",
            render_line(meta.level(), meta.target(), &message, fields, &now)
        )
    }
}

/// Formats one event as a plain text line for the log file: `<timestamp> <LEVEL>
/// <target>: <message> key=value ...` (no spans: the plugin server's per-call span is noise).
pub struct PlainFormat;

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (message, fields) = message_and_fields(event);
        let meta = event.metadata();
        write!(
            writer,
            "{} {:>5} {}: {message}",
            humantime_now(),
            meta.level(),
            meta.target()
        )?;
        for (k, v) in fields {
            match v {
                Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => {
                    write!(writer, " {k}={s}")?
                }
                v => write!(writer, " {k}={v}")?,
            }
        }
        writeln!(writer)
    }
}

/// RFC 3339 timestamp with microseconds, as hclog writes it.
fn humantime_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let micros = now.subsec_micros();
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
}

/// Converts seconds since the epoch to a UTC calendar date (Howard Hinnant's algorithm).
fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// The `tracing` filter for the given environment lookups.
pub fn filter_directive(env: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(custom) = env("K0STACK_LOG").filter(|v| !v.is_empty()) {
        // A full filter is taken as written (`h2=debug` gets h2); a bare level is a level.
        if custom.contains(['=', ',']) {
            return custom;
        }
    }
    let tf = env("K0STACK_LOG")
        .filter(|v| !v.is_empty())
        .or_else(|| env("TF_LOG_PROVIDER").filter(|v| !v.is_empty()))
        .or_else(|| env("TF_LOG").filter(|v| !v.is_empty()))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let level = match tf.as_str() {
        "trace" | "json" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" => "warn",
        "error" => "error",
        "off" => "off",
        _ => "warn",
    };
    // Library internals (the gRPC server's per-call spans, HTTP connections, TLS) are
    // noise below TRACE.
    if level == "trace" {
        level.to_string()
    } else {
        format!("{level},{QUIET_LIBRARIES}")
    }
}

/// Crates whose logs are only wanted at TRACE.
const QUIET_LIBRARIES: &str =
    "tower_http=warn,tower=warn,h2=warn,hyper=warn,hyper_util=warn,rustls=warn,reqwest=warn,kube_client=warn,tonic=warn";

/// Where plain-text log lines go besides stderr: `K0STACK_LOG_FILE`, or `k0stack.log` when
/// `K0STACK_LOG` is set and Terraform would drop the stderr lines (no `TF_LOG*`).
pub fn log_file(env: &dyn Fn(&str) -> Option<String>) -> Option<std::path::PathBuf> {
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(path) = set("K0STACK_LOG_FILE") {
        return Some(path.into());
    }
    let terraform_shows_them = set("TF_LOG").is_some() || set("TF_LOG_PROVIDER").is_some();
    (set("K0STACK_LOG").is_some() && !terraform_shows_them).then(|| "k0stack.log".into())
}

/// Installs the stderr subscriber. Call once, before serving.
pub fn init() {
    let directive = filter_directive(&|k| std::env::var(k).ok());
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("warn"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .event_format(HclogFormat);
    let file = log_file(&|k| std::env::var(k).ok()).and_then(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    let file = file.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(PlainFormat)
            .with_writer(std::sync::Mutex::new(f))
    });
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file);
    // set_global_default, not try_init: try_init would also route the `log` crate (rustls'
    // handshake chatter) into every provider log line.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_hclog_json() {
        let mut f = Map::new();
        f.insert("status".into(), Value::from(200));
        let line = render_line(
            &Level::DEBUG,
            "k0stack::openstack",
            "GET /servers",
            f,
            "2026-01-01T00:00:00.000000Z",
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "debug");
        assert_eq!(v["@message"], "GET /servers");
        assert_eq!(v["@module"], "k0stack.openstack");
        assert_eq!(v["status"], 200);
    }

    #[test]
    fn level_follows_tf_log_provider_then_tf_log() {
        let env = |k: &str| match k {
            "TF_LOG" => Some("DEBUG".to_string()),
            _ => None,
        };
        assert!(filter_directive(&env).starts_with("debug,"));
        let env = |k: &str| match k {
            "TF_LOG" => Some("DEBUG".to_string()),
            "TF_LOG_PROVIDER" => Some("TRACE".to_string()),
            _ => None,
        };
        assert_eq!(filter_directive(&env), "trace");
        assert!(filter_directive(&|_| None).starts_with("warn,"));
    }

    #[test]
    fn k0stack_log_alone_writes_a_file() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(log_file(&with(&[])), None);
        assert_eq!(
            log_file(&with(&[("K0STACK_LOG", "info")])),
            Some("k0stack.log".into())
        );
        // Terraform shows the lines itself: no file unless asked for.
        assert_eq!(
            log_file(&with(&[("K0STACK_LOG", "info"), ("TF_LOG", "info")])),
            None
        );
        assert_eq!(
            log_file(&with(&[
                ("TF_LOG", "info"),
                ("K0STACK_LOG_FILE", "/tmp/x.log")
            ])),
            Some("/tmp/x.log".into())
        );
        assert!(filter_directive(&with(&[("TF_LOG", "debug")])).contains("hyper_util=warn"));
        // A bare level in K0STACK_LOG keeps libraries quiet; a full filter is as written.
        assert!(filter_directive(&with(&[("K0STACK_LOG", "debug")])).starts_with("debug,"));
        assert!(filter_directive(&with(&[("K0STACK_LOG", "DEBUG")])).contains("h2=warn"));
        assert_eq!(
            filter_directive(&with(&[("K0STACK_LOG", "k0stack=debug,h2=debug")])),
            "k0stack=debug,h2=debug"
        );
    }

    #[test]
    fn timestamps_are_calendar_dates() {
        assert_eq!(civil_from_unix(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_from_unix(1_795_000_000), (2026, 11, 18, 11, 6, 40));
    }
}
