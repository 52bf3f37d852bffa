//! Prints the tree-sitter syntax tree of a file, for writing rule queries:
//! `cargo run --example tree -- python app.py` (python, rust, sql or yaml).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [lang, path] = args.as_slice() else {
        eprintln!("usage: tree <python|rust|sql|yaml> FILE");
        return ExitCode::from(2);
    };
    let language: tree_sitter::Language = match lang.as_str() {
        "python" => tree_sitter_python::LANGUAGE.into(),
        "rust" => tree_sitter_rust::LANGUAGE.into(),
        "sql" => tree_sitter_sequel::LANGUAGE.into(),
        "yaml" => tree_sitter_yaml::LANGUAGE.into(),
        other => {
            eprintln!("unknown language {other}");
            return ExitCode::from(2);
        }
    };
    let src = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut parser = tree_sitter::Parser::new();
    if parser.set_language(&language).is_err() {
        eprintln!("grammar does not match the tree-sitter runtime");
        return ExitCode::from(2);
    }
    match parser.parse(&src, None) {
        Some(tree) => {
            println!("{}", tree.root_node().to_sexp());
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}
