// SPDX-License-Identifier: GPL-3.0-or-later
//! Where the station keeps its data and how it is configured.
//!
//! Lookup order, the first that is set wins:
//! - data dir: `--data-dir`, `LABELSTATION_DATA_DIR`, the XDG data dir (`~/.local/share/labelstation`);
//! - config file: `--config`, `LABELSTATION_CONFIG`, the XDG config dir (`~/.config/labelstation/config.toml`).
//!
//! No config file means the embedded defaults. A file that was named explicitly (flag or environment) must
//! exist; only the XDG default may be absent. Unknown keys are errors, so a typo never silently falls back
//! to a default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::codes::{CodeFormat, CompanyPrefix, SerialLength, SsccForm};
/// The station's own sections, kept by the engine's crate that reads them; validated here with the rest.
pub use labelstation_station::settings::{LabelConfig, LabelMode, LineConfig, PrinterConfig};

pub const DATA_DIR_ENV: &str = "LABELSTATION_DATA_DIR";
pub const CONFIG_ENV: &str = "LABELSTATION_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot find a home directory for the default data/config location: set {DATA_DIR_ENV} and {CONFIG_ENV}, or pass --data-dir and --config"
    )]
    NoHome,
    #[error(
        "config file {path} (named by {origin}) does not exist: create it (see deploy/labelstation.example.toml) or stop naming it"
    )]
    Missing { path: PathBuf, origin: Origin },
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "config file {path} is not valid: {message}\nFix the file (every key is documented in deploy/labelstation.example.toml) or remove it to use the defaults."
    )]
    Invalid { path: PathBuf, message: String },
}

/// Where a path came from, so error messages can say which knob to turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    Xdg,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("the command line"),
            Origin::Env => write!(f, "the environment ({DATA_DIR_ENV} / {CONFIG_ENV})"),
            Origin::Xdg => f.write_str("the XDG default"),
        }
    }
}

/// Resolved locations.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub data_dir_origin: Origin,
    pub config_file: PathBuf,
    pub config_origin: Origin,
}

impl Paths {
    /// Resolve from explicit flags and the process environment.
    pub fn resolve(
        data_dir: Option<PathBuf>,
        config: Option<PathBuf>,
    ) -> Result<Paths, ConfigError> {
        Self::resolve_with(data_dir, config, |k| std::env::var_os(k))
    }

    /// Same as [`Paths::resolve`] with the environment passed in (for tests).
    pub fn resolve_with(
        data_dir: Option<PathBuf>,
        config: Option<PathBuf>,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Paths, ConfigError> {
        let non_empty = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dirs =
            || directories::ProjectDirs::from("", "", "labelstation").ok_or(ConfigError::NoHome);
        let (data_dir, data_dir_origin) = match (data_dir, non_empty(DATA_DIR_ENV)) {
            (Some(p), _) => (p, Origin::Flag),
            (None, Some(p)) => (p, Origin::Env),
            (None, None) => (dirs()?.data_dir().to_path_buf(), Origin::Xdg),
        };
        let (config_file, config_origin) = match (config, non_empty(CONFIG_ENV)) {
            (Some(p), _) => (p, Origin::Flag),
            (None, Some(p)) => (p, Origin::Env),
            (None, None) => (dirs()?.config_dir().join("config.toml"), Origin::Xdg),
        };
        Ok(Paths {
            data_dir,
            data_dir_origin,
            config_file,
            config_origin,
        })
    }

    pub fn ledger(&self) -> PathBuf {
        self.data_dir.join(crate::ledger::LEDGER_FILE)
    }
}

/// The whole configuration. Later parts of the station add their own sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub station: StationConfig,
    pub codes: CodesConfig,
    pub label: LabelConfig,
    pub backup: BackupConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub registry: RegistryConfig,
    pub printer: PrinterConfig,
    pub scanner: ScannerConfig,
    pub line: LineConfig,
    pub aggregation: AggregationConfig,
}

/// `[aggregation]`: packing pairs into boxes under an SSCC the station composes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregationConfig {
    /// The GS1 company prefix (7 to 10 digits) box codes are made under; "" until the warehouse has one
    /// (then no box can be made).
    pub company_prefix: String,
    /// The SSCC's first digit (0 to 9), the packer's choice: a second station under the same prefix
    /// takes another one, so their serials never meet.
    pub extension_digit: u8,
    /// The box label: "A6" (105 x 148 mm) or "100x150" (mm).
    pub box_label: BoxLabelSize,
    /// How box codes go to the registry: "00+18" (AI 00 and the 18 digits) or "18".
    pub sscc_form: SsccForm,
    /// The warehouse files aggregations as the importer's service provider: each names the
    /// consignment's importer (its BIN) as the codes' owner (`ownerTin`).
    pub file_for_importer: bool,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        AggregationConfig {
            company_prefix: String::new(),
            extension_digit: 0,
            box_label: BoxLabelSize::A6,
            sscc_form: SsccForm::WithAi,
            file_for_importer: false,
        }
    }
}

/// The size of a box label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BoxLabelSize {
    /// 105 x 148 mm.
    #[default]
    A6,
    /// 100 x 150 mm.
    #[serde(rename = "100x150")]
    Mm100x150,
}

impl BoxLabelSize {
    /// Width and height in millimetres.
    pub const fn mm(self) -> (u32, u32) {
        match self {
            BoxLabelSize::A6 => (105, 148),
            BoxLabelSize::Mm100x150 => (100, 150),
        }
    }
}

impl AggregationConfig {
    /// The company prefix, if one is set.
    pub fn prefix(&self) -> Result<Option<CompanyPrefix>, String> {
        let p = self.company_prefix.trim();
        if p.is_empty() {
            return Ok(None);
        }
        CompanyPrefix::parse(p).map(Some).map_err(|e| {
            format!(
                "aggregation.company_prefix = {p:?}: {e}; write the GS1 company prefix GS1 Kazakhstan issued the warehouse (7 to 10 digits, no spaces), or \"\" while there is none"
            )
        })
    }

    fn validate(&self) -> Result<(), String> {
        self.prefix()?;
        if self.extension_digit > 9 {
            return Err(format!(
                "aggregation.extension_digit = {}: use one digit, 0 to 9",
                self.extension_digit
            ));
        }
        Ok(())
    }

    /// Settings that are allowed but worth a second look (logged when the file is read).
    pub fn warnings(&self) -> Vec<String> {
        match self.prefix() {
            Ok(Some(p)) if !p.is_kazakh() => vec![format!(
                "aggregation.company_prefix = {p} does not start with 487, as prefixes GS1 Kazakhstan issues do: check it is the warehouse's own (box codes under another company's prefix are not yours to make)"
            )],
            _ => Vec::new(),
        }
    }
}

/// `[backup]`: where and how often the ledger is copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Directory for backups; "" means `backups/` inside the data dir.
    pub dir: String,
    /// Backups of this station kept; older ones are deleted after a new one is verified. 0 keeps all.
    pub keep: u32,
    /// Hours between scheduled backups (`labelstation backup --if-due`, run hourly by the timer).
    pub interval_hours: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: String::new(),
            keep: 14,
            interval_hours: 24,
        }
    }
}

impl BackupConfig {
    /// The backup directory for a data dir.
    pub fn dir_for(&self, data_dir: &Path) -> PathBuf {
        if self.dir.trim().is_empty() {
            data_dir.join("backups")
        } else {
            PathBuf::from(self.dir.trim())
        }
    }
}

/// `[log]`: where log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// "" logs to standard error only (journald under systemd); a directory adds daily files there.
    pub dir: String,
    /// Daily log files kept in `dir`.
    pub keep_files: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dir: String::new(),
            keep_files: 14,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// "" (off), or an address such as "127.0.0.1:9464". A non-loopback address exposes the station's
    /// counts to the network and is logged as a warning.
    pub listen: String,
}

impl MetricsConfig {
    /// The address to listen on, if the endpoint is on.
    pub fn address(&self) -> Result<Option<std::net::SocketAddr>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        l.parse().map(Some).map_err(|e| {
            format!("metrics.listen = {l:?}: {e}; use an address with a port such as \"127.0.0.1:9464\", or \"\" for off")
        })
    }
}

/// Checks of `[backup]`, `[log]` and `[metrics]`; called from [`Config::from_toml`].
fn validate_ops_sections(c: &Config) -> Result<(), String> {
    if c.backup.interval_hours == 0 {
        return Err("backup.interval_hours must be at least 1".into());
    }
    if !c.backup.dir.trim().is_empty() && !Path::new(c.backup.dir.trim()).is_absolute() {
        return Err(format!(
            "backup.dir = {:?}: use an absolute path (or \"\" for backups/ in the data dir)",
            c.backup.dir
        ));
    }
    if !c.log.dir.trim().is_empty() && !Path::new(c.log.dir.trim()).is_absolute() {
        return Err(format!(
            "log.dir = {:?}: use an absolute path (or \"\" for standard error / journald)",
            c.log.dir
        ));
    }
    if c.log.keep_files == 0 {
        return Err("log.keep_files must be at least 1".into());
    }
    c.metrics.address()?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationConfig {
    /// Names this station in the ledger (jobs, audit) so a code printed elsewhere can be told apart.
    pub id: String,
}

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            id: "station-1".to_owned(),
        }
    }
}

/// The code structure of the product group. Defaults are footwear's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodesConfig {
    /// Length of the AI 21 serial: a number (footwear: 13) or "variable" (then every code must carry its
    /// GS separators, because they cannot be restored by structure).
    pub serial_length: SerialLengthSetting,
    /// Accepted length of the AI 92 crypto tail. The registry documents 44 to 88; which one footwear in
    /// Kazakhstan gets is not settled, so both are accepted unless narrowed here.
    pub crypto_length_min: usize,
    pub crypto_length_max: usize,
    /// Spare codes ordered for a consignment (`codes pull --consignment`), in percent of what its lines
    /// still need, for labels that get rejected. 0 to 50.
    pub spare_percent: u32,
}

impl Default for CodesConfig {
    fn default() -> Self {
        let f = CodeFormat::default();
        CodesConfig {
            serial_length: match f.serial_length {
                SerialLength::Fixed(n) => SerialLengthSetting::Fixed(n),
                SerialLength::Variable => SerialLengthSetting::Variable(VariableWord::Variable),
            },
            crypto_length_min: f.crypto_min,
            crypto_length_max: f.crypto_max,
            spare_percent: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SerialLengthSetting {
    Fixed(usize),
    Variable(VariableWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableWord {
    Variable,
}

/// Which registry API the station talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryApi {
    /// The built-in simulator, started in-process (the embedded default; it speaks xTrace).
    #[serde(rename = "sim")]
    Sim,
    /// markirovka.kz xTrace ICOM API.
    #[serde(rename = "xtrace")]
    Xtrace,
    /// The older platform's code-ordering API v2.
    #[serde(rename = "oms-v2")]
    OmsV2,
}

impl RegistryApi {
    /// The API a ledger document is written for: the one the registry client speaks (the built-in
    /// simulator speaks xTrace).
    pub const fn documents_api(self) -> &'static str {
        match self {
            RegistryApi::Sim | RegistryApi::Xtrace => "xtrace",
            RegistryApi::OmsV2 => "oms-v2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    pub api: RegistryApi,
    /// Base URL: https:// (plain http:// only to this machine, for a simulator).
    pub url: String,
    /// Seconds before a request without an answer is given up.
    pub timeout_secs: u64,
    /// Codes asked for per pack during a pull.
    pub pack_size: u32,
    pub xtrace: XtraceConfig,
    pub oms: OmsConfig,
    pub report: ReportConfig,
}

/// What application reports declare, and how they are batched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// Codes per report at most (the registry documents 30 000).
    pub batch_size: u32,
    /// Manufacturer country (ISO 3166 alpha-2) for products registered without one; empty: none.
    pub default_country: String,
    /// Declared expiration date = production date + this many days (the registry requires one).
    pub expiry_days: u32,
    /// Seconds between sync passes when `labelstation sync` runs continuously.
    pub interval_secs: u64,
    /// Reason declared in write-offs (xtrace withdrawal documents): a value of the registry's reason
    /// dictionary, which its API document does not publish.
    pub write_off_reason: String,
    /// Seconds after a report whose outcome is unknown (answer lost, 5xx, unreadable) was sent before its
    /// codes may be sent again when the registry shows no trace of it: it may still be processing it.
    pub settle_window_secs: u64,
    /// Codes per code lookup request when settling such a report (the registry's limit is not published).
    pub lookup_chunk: usize,
    /// Reports the registry may be processing at once, at most.
    pub max_in_flight: u32,
    /// Seconds one sync pass waits for reports to be processed before it leaves them for the next pass.
    pub wait_secs: u64,
    /// The longest pause, in seconds, between two looks at a report that is not settled yet.
    pub check_max_secs: u64,
    /// Codes per import document at most (`consignment submit` splits a consignment's codes; the
    /// registry publishes no limit for documents).
    pub import_document_size: u32,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            batch_size: 30_000,
            default_country: String::new(),
            expiry_days: 3650,
            interval_secs: 60,
            write_off_reason: "DEFECT".into(),
            settle_window_secs: 6 * 3600,
            lookup_chunk: 1000,
            max_in_flight: 4,
            wait_secs: 120,
            check_max_secs: 600,
            import_document_size: 10_000,
        }
    }
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            api: RegistryApi::Sim,
            url: String::new(),
            timeout_secs: 30,
            pack_size: 5_000,
            xtrace: XtraceConfig::default(),
            oms: OmsConfig::default(),
            report: ReportConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XtraceConfig {
    /// The technical user's login.
    pub login: String,
    /// Name of the environment variable holding the password (the password itself is never in a file
    /// the station reads as config, nor in its logs or database).
    pub password_env: String,
    pub business_place_id: i64,
    pub product_group: String,
}

impl Default for XtraceConfig {
    fn default() -> Self {
        XtraceConfig {
            login: String::new(),
            password_env: "LABELSTATION_REGISTRY_PASSWORD".into(),
            business_place_id: 0,
            product_group: "shoes".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OmsConfig {
    pub oms_id: String,
    /// Name of the environment variable holding the client token.
    pub client_token_env: String,
    pub extension: String,
    pub contact_person: String,
    /// The taxpayer id (IIN/BIN) aggregation reports are filed under (`participantId`), unless
    /// `aggregation.file_for_importer` names the consignment's importer instead.
    pub participant_id: String,
}

impl Default for OmsConfig {
    fn default() -> Self {
        OmsConfig {
            oms_id: String::new(),
            client_token_env: "LABELSTATION_OMS_CLIENT_TOKEN".into(),
            extension: "shoes".into(),
            contact_person: String::new(),
            participant_id: String::new(),
        }
    }
}

impl RegistryConfig {
    fn validate(&self) -> Result<(), String> {
        if self.api != RegistryApi::Sim && self.url.trim().is_empty() {
            return Err(
                "registry.url is empty: set the registry's base URL (or api = \"sim\")".into(),
            );
        }
        let r = &self.report;
        if r.import_document_size == 0 || r.import_document_size > 30_000 {
            return Err("registry.report.import_document_size must be 1 to 30000 (codes per import document)".into());
        }
        if r.batch_size == 0 || r.batch_size > 30_000 || r.interval_secs == 0 {
            return Err("registry.report.batch_size must be 1 to 30000 and registry.report.interval_secs > 0".into());
        }
        if r.settle_window_secs == 0 || r.wait_secs == 0 || r.check_max_secs == 0 {
            return Err(
                "registry.report.settle_window_secs, wait_secs and check_max_secs must be above 0"
                    .into(),
            );
        }
        if r.lookup_chunk == 0 || r.max_in_flight == 0 {
            return Err(
                "registry.report.lookup_chunk and registry.report.max_in_flight must be at least 1"
                    .into(),
            );
        }
        if r.write_off_reason.trim().is_empty() {
            return Err("registry.report.write_off_reason is empty: set a reason from the registry's dictionary, e.g. DEFECT".into());
        }
        if !r.default_country.is_empty() && !crate::codes::is_country_code(&r.default_country) {
            return Err(format!(
                "registry.report.default_country {:?}: use a two-letter ISO 3166 code such as CN",
                r.default_country
            ));
        }
        if self.timeout_secs == 0 || self.pack_size == 0 || self.pack_size > 150_000 {
            return Err(
                "registry.timeout_secs must be > 0 and registry.pack_size 1 to 150000".into(),
            );
        }
        Ok(())
    }
}

impl CodesConfig {
    pub fn format(&self) -> CodeFormat {
        CodeFormat {
            serial_length: match self.serial_length {
                SerialLengthSetting::Fixed(n) => SerialLength::Fixed(n),
                SerialLengthSetting::Variable(_) => SerialLength::Variable,
            },
            crypto_min: self.crypto_length_min,
            crypto_max: self.crypto_length_max,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if let SerialLengthSetting::Fixed(n) = self.serial_length
            && !(1..=20).contains(&n)
        {
            return Err(format!(
                "codes.serial_length = {n}: a GS1 serial (AI 21) is 1 to 20 characters"
            ));
        }
        if self.crypto_length_min == 0 || self.crypto_length_min > self.crypto_length_max {
            return Err(format!(
                "codes.crypto_length_min = {} and codes.crypto_length_max = {}: need 1 <= min <= max",
                self.crypto_length_min, self.crypto_length_max
            ));
        }
        if self.crypto_length_max > 128 {
            return Err(format!(
                "codes.crypto_length_max = {}: registry crypto tails are at most 88 characters",
                self.crypto_length_max
            ));
        }
        if self.spare_percent > 50 {
            return Err(format!(
                "codes.spare_percent = {}: at most 50 (codes ordered and never used must be written off)",
                self.spare_percent
            ));
        }
        Ok(())
    }
}

impl Config {
    /// Parse a config text; `path` only labels errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if config.station.id.trim().is_empty() {
            return Err(invalid(
                "station.id is empty: give the station a name".into(),
            ));
        }
        config.codes.validate().map_err(invalid)?;
        validate_ops_sections(&config).map_err(invalid)?;
        config.registry.validate().map_err(invalid)?;
        config.printer.validate().map_err(invalid)?;
        config.scanner.validate().map_err(invalid)?;
        config.line.validate().map_err(invalid)?;
        config.aggregation.validate().map_err(invalid)?;
        for w in config.aggregation.warnings() {
            tracing::warn!("config file {}: {w}", path.display());
        }
        if ![203, 300, 600].contains(&config.label.dpi) {
            return Err(invalid(format!(
                "label.dpi = {}: use 203, 300 or 600",
                config.label.dpi
            )));
        }
        Ok(config)
    }

    /// Load the file [`Paths`] points at, or the defaults when the XDG default file does not exist.
    pub fn load(paths: &Paths) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(&paths.config_file) {
            Ok(text) => Config::from_toml(&text, &paths.config_file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match paths.config_origin {
                Origin::Xdg => Ok(Config::default()),
                origin => Err(ConfigError::Missing {
                    path: paths.config_file.clone(),
                    origin,
                }),
            },
            Err(source) => Err(ConfigError::Read {
                path: paths.config_file.clone(),
                source,
            }),
        }
    }

    pub fn to_toml(&self) -> String {
        // Serialising plain structs of strings and integers cannot fail.
        toml::to_string(self).unwrap_or_default()
    }
}

/// The scanner that checks each sticker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScannerConfig {
    /// Scanner address: "sim:" (the virtual scanner, which reads what the virtual printer prints),
    /// "serial:///dev/ttyACM0" (USB-CDC, preferred), "evdev:///dev/input/by-id/...-event-kbd" (keyboard
    /// wedge), "hidpos://VID:PID". `labelstation doctor` lists the scanners it finds.
    pub uri: String,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig { uri: "sim:".into() }
    }
}

impl ScannerConfig {
    fn validate(&self) -> Result<(), String> {
        labelstation_scanner::ScannerUri::parse(&self.uri)
            .map(|_| ())
            .map_err(|e| format!("scanner.uri = {:?}: {e}", self.uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn flag_beats_env_beats_xdg() {
        let env = env_of(&[(DATA_DIR_ENV, "/env/data"), (CONFIG_ENV, "/env/c.toml")]);
        let p = Paths::resolve_with(Some("/flag/data".into()), None, &env).unwrap();
        assert_eq!(p.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(p.data_dir_origin, Origin::Flag);
        assert_eq!(p.config_file, PathBuf::from("/env/c.toml"));
        assert_eq!(p.config_origin, Origin::Env);
        assert_eq!(p.ledger(), PathBuf::from("/flag/data/ledger.sqlite3"));
    }

    #[test]
    fn empty_env_falls_through_to_xdg() {
        let env = env_of(&[(DATA_DIR_ENV, ""), ("HOME", "/home/w")]);
        let p = Paths::resolve_with(None, None, &env).unwrap();
        assert_eq!(p.data_dir_origin, Origin::Xdg);
        assert!(p.data_dir.ends_with("labelstation"), "{:?}", p.data_dir);
        assert!(p.config_file.ends_with("labelstation/config.toml"));
    }

    #[test]
    fn missing_named_config_is_an_error_but_missing_default_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let named = Paths {
            data_dir: dir.path().into(),
            data_dir_origin: Origin::Flag,
            config_file: dir.path().join("nope.toml"),
            config_origin: Origin::Flag,
        };
        assert!(matches!(
            Config::load(&named),
            Err(ConfigError::Missing { .. })
        ));
        let default = Paths {
            config_origin: Origin::Xdg,
            ..named
        };
        assert_eq!(Config::load(&default).unwrap(), Config::default());
    }

    #[test]
    fn parses_settings_and_rejects_typos_and_nonsense() {
        let p = Path::new("x.toml");
        let c = Config::from_toml(
            "[station]\nid = \"post-7\"\n[codes]\nserial_length = \"variable\"\ncrypto_length_min = 88\ncrypto_length_max = 88\n",
            p,
        )
        .unwrap();
        assert_eq!(c.station.id, "post-7");
        assert_eq!(c.codes.format().serial_length, SerialLength::Variable);
        assert_eq!(
            (c.codes.format().crypto_min, c.codes.format().crypto_max),
            (88, 88)
        );

        let r = Config::from_toml(
            "[registry]\napi = \"xtrace\"\nurl = \"https://test.markirovka.kz\"\n[registry.xtrace]\nlogin = \"api\"\nbusiness_place_id = 12\n",
            p,
        )
        .unwrap();
        assert_eq!(
            (r.registry.api, r.registry.xtrace.business_place_id),
            (RegistryApi::Xtrace, 12)
        );
        let no_url = Config::from_toml("[registry]\napi = \"xtrace\"\n", p).unwrap_err();
        assert!(
            no_url.to_string().contains("registry.url is empty"),
            "{no_url}"
        );
        let api = Config::from_toml("[registry]\napi = \"soap\"\n", p).unwrap_err();
        assert!(api.to_string().contains("soap"), "{api}");

        let typo = Config::from_toml("[codes]\nserial_lenght = 13\n", p).unwrap_err();
        assert!(typo.to_string().contains("serial_lenght"), "{typo}");
        let bad = Config::from_toml("[codes]\nserial_length = 21\n", p).unwrap_err();
        assert!(bad.to_string().contains("1 to 20"), "{bad}");
        let inverted = Config::from_toml(
            "[codes]\ncrypto_length_min = 88\ncrypto_length_max = 44\n",
            p,
        )
        .unwrap_err();
        assert!(inverted.to_string().contains("min <= max"), "{inverted}");
        let word = Config::from_toml("[codes]\nserial_length = \"thirteen\"\n", p).unwrap_err();
        assert!(word.to_string().contains("x.toml"), "{word}");
    }

    #[test]
    fn defaults_round_trip_through_toml() {
        let c = Config::default();
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("d")).unwrap(), c);
    }

    #[test]
    fn aggregation_settings_are_checked_with_what_to_do() {
        let p = Path::new("x.toml");
        let c = Config::from_toml(
            "[aggregation]\ncompany_prefix = \"4870001\"\nextension_digit = 3\nbox_label = \"100x150\"\nsscc_form = \"18\"\n",
            p,
        )
        .unwrap();
        assert_eq!(c.aggregation.prefix().unwrap().unwrap().as_str(), "4870001");
        assert_eq!(c.aggregation.extension_digit, 3);
        assert_eq!(c.aggregation.box_label.mm(), (100, 150));
        assert_eq!(c.aggregation.sscc_form, SsccForm::Bare);
        assert!(c.aggregation.warnings().is_empty());
        // The defaults: no prefix yet, A6, 00+18.
        let d = AggregationConfig::default();
        assert_eq!(d.prefix().unwrap(), None);
        assert_eq!(d.box_label.mm(), (105, 148));
        assert_eq!(d.sscc_form, SsccForm::WithAi);
        // Refused, each saying what to write instead.
        for (toml, says) in [
            ("company_prefix = \"48700O1\"", "not a digit"),
            ("company_prefix = \"487000\"", "7 to 10"),
            ("company_prefix = \"48700012345\"", "7 to 10"),
            ("extension_digit = 10", "0 to 9"),
            ("box_label = \"A5\"", "A5"),
            ("sscc_form = \"20\"", "00+18"),
        ] {
            let e = Config::from_toml(&format!("[aggregation]\n{toml}\n"), p).unwrap_err();
            assert!(e.to_string().contains(says), "{toml}: {e}");
            assert!(e.to_string().contains("x.toml"), "{e}");
        }
        // Another country's prefix is allowed, with a warning.
        let other = AggregationConfig {
            company_prefix: "0614141".into(),
            ..AggregationConfig::default()
        };
        assert!(other.validate().is_ok());
        assert!(
            other.warnings()[0].contains("487"),
            "{:?}",
            other.warnings()
        );
    }

    #[test]
    fn example_config_in_deploy_is_valid_and_matches_defaults() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/labelstation.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(Config::from_toml(&text, &path).unwrap(), Config::default());
    }
}
