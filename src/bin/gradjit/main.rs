//! The `gradjit` command: evaluate programs, their gradients, show the
//! compiled graphs, and benchmark the engines. The contract is
//! `shared/spec/language-and-cli.md`.

mod aot;
mod bench;
mod feeds;
mod format;
mod program;
mod run;
mod show;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// An error for the user: one line on stderr, exit status 2.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        CliError(msg.into())
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

#[derive(Parser)]
#[command(
    name = "gradjit",
    version,
    about = "A small gradient compiler: symbolic gradients, simplification, fusion, native code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a program (its output, or the names given with --ys).
    Eval(EvalArgs),
    /// Evaluate gradients of the ys with respect to the xs (tf.gradients).
    Grad(GradArgs),
    /// Show the forward graph, the gradient graphs and the compiled kernels.
    Show(ShowArgs),
    /// Compile once per engine, call repeatedly, report compile and call times.
    Bench(BenchArgs),
    /// Compile ahead of time into an object file and a C header.
    Aot(AotArgs),
}

/// Options every subcommand shares.
#[derive(Args)]
pub struct Common {
    /// The program text, or @path to read it from a file.
    #[arg(value_name = "EXPR")]
    pub expr: String,
    /// An input's value: a JSON number or array, @file.npy, rand(D0,D1,...) or randsign(...).
    #[arg(long = "feed", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    pub feeds: Vec<String>,
    /// The dtype of every tensor.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DTypeArg,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Turn on the stabilizing rewrites (log(1 + x) to log1p(x), ...), on every engine.
    #[arg(long)]
    pub stabilize: bool,
}

/// `--dtype`.
#[derive(Clone, Copy, ValueEnum)]
pub enum DTypeArg {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

impl From<DTypeArg> for gradjit::DType {
    fn from(d: DTypeArg) -> Self {
        match d {
            DTypeArg::F32 => gradjit::DType::F32,
            DTypeArg::F64 => gradjit::DType::F64,
        }
    }
}

/// `gradjit eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub common: Common,
    /// Bound names (or inputs) to print instead of the program's output.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub ys: Vec<String>,
    /// The executor.
    #[arg(long, default_value = "jit")]
    pub engine: String,
}

/// `gradjit grad`.
#[derive(Args)]
pub struct GradArgs {
    #[command(flatten)]
    pub common: Common,
    /// The xs: inputs or bound names.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        value_name = "NAME[,NAME...]"
    )]
    pub wrt: Vec<String>,
    /// The ys (default: the program's output).
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub ys: Vec<String>,
    /// One upstream gradient per y, separated by `;`, each of exactly y's shape.
    #[arg(
        long = "grad-ys",
        allow_hyphen_values = true,
        value_name = "VALUE[;VALUE...]"
    )]
    pub grad_ys: Option<String>,
    /// Names through which no gradient flows back.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub stop: Vec<String>,
    /// What an x with no gradient gets.
    #[arg(long, value_enum, default_value = "none")]
    pub unconnected: UnconnectedArg,
    /// The executor.
    #[arg(long, default_value = "jit")]
    pub engine: String,
}

/// `--unconnected`.
#[derive(Clone, Copy, ValueEnum)]
pub enum UnconnectedArg {
    /// null
    None,
    /// zeros of x's shape
    Zero,
}

/// `gradjit show`.
#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub common: Common,
    /// The xs whose gradient graph to show.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub wrt: Vec<String>,
    /// Write a Graphviz file.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<std::path::PathBuf>,
    /// Print the Cranelift IR of every kernel.
    #[arg(long)]
    pub clif: bool,
}

/// `gradjit bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub common: Common,
    /// The xs whose gradients are computed with the program.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub wrt: Vec<String>,
    /// Engines to measure (default: all).
    #[arg(long, value_delimiter = ',', value_name = "ENGINE[,ENGINE...]")]
    pub engine: Vec<String>,
    /// Threads for jit-mt (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed calls per engine (at least 5); a compiled call shorter than
    /// 50 µs is timed as the mean of a batch of calls, since the clock
    /// costs more than such a call.
    #[arg(long)]
    pub repeat: Option<usize>,
}

/// `gradjit aot`.
#[derive(Args)]
pub struct AotArgs {
    /// The program text, or @path to read it from a file.
    #[arg(value_name = "EXPR")]
    pub expr: String,
    /// The xs whose gradients are computed with the program.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub wrt: Vec<String>,
    /// The ys (default: the program's output).
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub ys: Vec<String>,
    /// Names through which no gradient flows back.
    #[arg(long, value_delimiter = ',', value_name = "NAME[,NAME...]")]
    pub stop: Vec<String>,
    /// What an x with no gradient gets.
    #[arg(long, value_enum, default_value = "none")]
    pub unconnected: UnconnectedArg,
    /// An input's value, of which only the shape is used.
    #[arg(long = "feed", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    pub feeds: Vec<String>,
    /// An input's shape (`[]` for a scalar).
    #[arg(long = "shape", value_name = "NAME=[D0,D1,...]")]
    pub shapes: Vec<String>,
    /// The dtype of every tensor.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DTypeArg,
    /// The prefix of every symbol and macro (default: the object's file name).
    #[arg(long, value_name = "PREFIX")]
    pub name: Option<String>,
    /// x86-64-v2, x86-64-v3, native, or a target triple.
    #[arg(long, default_value = "x86-64-v2", value_name = "TARGET")]
    pub target: String,
    /// The object file to write.
    #[arg(short = 'o', value_name = "OUT.o", required = true)]
    pub output: std::path::PathBuf,
    /// The header to write (default: OUT.h beside OUT.o).
    #[arg(long, value_name = "OUT.h")]
    pub header: Option<std::path::PathBuf>,
}

/// clap's error as one line: its first paragraph (the problem, with what
/// is missing or the possible values) and its tips, without the usage.
fn clap_message(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap's text is the whole help
        return "no command given: use one of eval, grad, show, bench, aot (see --help)".into();
    }
    let text = e.to_string();
    let mut line = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    // and clap's tips (`to pass '-x' as a value, use '-- -x'`)
    for tip in text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tip:"))
    {
        line.push_str("; ");
        line.push_str(tip);
    }
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if line.is_empty() {
        "invalid arguments (see --help)".into()
    } else {
        line.to_string()
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                // help and version: a closed stdout is no error either
                let _ = std::io::Write::write_all(&mut std::io::stdout(), e.to_string().as_bytes());
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", clap_message(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Eval(a) => run::eval(&a),
        Command::Grad(a) => run::grad(&a),
        Command::Show(a) => show::show(&a),
        Command::Bench(a) => bench::bench(&a),
        Command::Aot(a) => aot::aot(&a),
    };
    match result {
        Ok(out) => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                // the reader has gone (`gradjit ... | head`): nothing to report
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the output: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(CliError(msg)) => {
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
