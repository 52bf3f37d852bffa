// Rule files are embedded with include_dir; tell cargo to rebuild when any of them changes.
fn main() {
    println!("cargo:rerun-if-changed=rules");
}
