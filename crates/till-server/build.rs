//! Names the commit the program is built from (`--version`).

fn main() {
    till_cli::build_info::emit_commit();
}
