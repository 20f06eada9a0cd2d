//! The `wsspec` binary; everything lives in the library ([`wsspec::cli`]).

fn main() {
    std::process::exit(wsspec::cli::main());
}
