use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::metrics::FigureArgs;
use super::{human_bytes, report_read_error, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::metrics::MetricsError;
use crate::report::{Report, ReportError};

/// Arguments of `tape report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ledger.
    pub file: PathBuf,
    /// The HTML file to write, replaced if it exists [default: the ledger's path with .html
    /// for its extension].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The conventions and the window of the figures, charts and tables.
    #[command(flatten)]
    pub figures: FigureArgs,
}

/// Writes a ledger's report. Exits 1 when the ledger is damaged or its snapshots disagree
/// with its fills, 2 when it cannot be read or the report cannot be written.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = match args.figures.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("tape: {message}");
            return Ok(ExitCode::from(EXIT_INPUT));
        }
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("html"));
    // A report never replaces anything but a page: not a ledger, not the ledger it reads.
    if !is_html(&out) {
        eprintln!(
            "tape: {}: a report is written to an .html file (choose an --out ending in .html)",
            out.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    if same_file(&args.file, &out) {
        eprintln!(
            "tape: {}: the report would replace the ledger it is made from (choose another --out)",
            out.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    let report = match Report::from_ledger(&args.file, &options) {
        Ok(report) => report,
        Err(ReportError::Metrics(MetricsError::Read(e)) | ReportError::Read(e)) => {
            return Ok(report_read_error(&args.file, &e))
        }
        Err(e) => {
            eprintln!("tape: {}: {e}", args.file.display());
            return Ok(ExitCode::from(EXIT_FINDING));
        }
    };
    let html = report.to_html();
    if let Err(e) = write_whole(&out, html.as_bytes()) {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (the directory must exist)"
        } else {
            ""
        };
        eprintln!(
            "tape: {}: cannot write the report: {e}{hint}",
            out.display()
        );
        return Ok(ExitCode::from(EXIT_INPUT));
    }
    say!(
        "report        {} ({})",
        out.display(),
        human_bytes(html.len() as u64)
    );
    say!("fingerprint   {}", report.metrics.fingerprint);
    Ok(ExitCode::from(EXIT_OK))
}

fn is_html(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so
/// `path` is either the old file or the whole new one, never a part.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tape-report-").suffix(".tmp");
    // As readable as any file the user creates (the umask applies), not 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
