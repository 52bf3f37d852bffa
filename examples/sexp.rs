fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(2).unwrap()).unwrap();
    let lang: tree_sitter::Language = match std::env::args().nth(1).unwrap().as_str() {
        "rust" => tree_sitter_rust::LANGUAGE.into(),
        "python" => tree_sitter_python::LANGUAGE.into(),
        "yaml" => tree_sitter_yaml::LANGUAGE.into(),
        _ => tree_sitter_sequel::LANGUAGE.into(),
    };
    let mut p = tree_sitter::Parser::new();
    p.set_language(&lang).unwrap();
    let t = p.parse(&src, None).unwrap();
    println!("{}", t.root_node().to_sexp());
}
