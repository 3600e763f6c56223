//! The modules depend on each other in one direction only, in the order `ARCHITECTURE.md`
//! states: every `crate::…` path in a module's code names that module or one before it.
//! Test code (`tests.rs` files and `#[cfg(test)]` modules) follows the same order, so that
//! no cycle runs through the tests either.

// Test code: a failed unwrap is the check failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The dependency order, from the line of `ARCHITECTURE.md`'s "Dependency order" section that
/// lists the modules joined by arrows.
fn stated_order() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Dependency order"))
        .expect("ARCHITECTURE.md has a section \"Dependency order\"");
    let line = section
        .lines()
        .find(|l| l.contains('→'))
        .expect("the section lists the modules joined by →");
    line.split('→')
        .map(|m| m.trim().trim_matches('`').to_string())
        .collect()
}

/// The library's top-level modules, from `src/lib.rs`.
fn lib_modules() -> Vec<String> {
    std::fs::read_to_string(root().join("src/lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level modules a piece of code names through `crate::`, `crate::{a, b::c}` included.
fn crate_references(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                // Top-level items of the group: split at commas outside nested braces.
                let mut depth = 0;
                let mut item_start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            out.push(ident(group[item_start..i].trim()));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.push(ident(group[item_start..i].trim()));
                            item_start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => out.push(ident(rest)),
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

#[test]
fn the_stated_order_holds_every_module_once() {
    let order = stated_order();
    let mut modules = lib_modules();
    let mut listed = order.clone();
    modules.sort();
    listed.sort();
    assert_eq!(
        listed, modules,
        "ARCHITECTURE.md's dependency order must list each module of src/lib.rs once"
    );
}

#[test]
fn no_module_uses_one_that_comes_after_it() {
    let order = stated_order();
    let rank = |m: &str| order.iter().position(|o| o == m);
    let src = root().join("src");
    let mut violations = Vec::new();
    let mut references = 0;
    for path in sources(&src) {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        // The binary sits above the library; `lib.rs` only declares the modules.
        if module == "bin" || module == "lib" {
            continue;
        }
        let own = rank(&module).unwrap_or_else(|| panic!("{module} is not in the stated order"));
        let text = std::fs::read_to_string(&path).unwrap();
        for used in crate_references(&text) {
            references += 1;
            let Some(theirs) = rank(&used) else {
                violations.push(format!(
                    "{}: `crate::{used}` is no module",
                    relative.display()
                ));
                continue;
            };
            if theirs > own {
                violations.push(format!(
                    "{}: `{module}` uses `{used}`, which comes after it",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        references > 100,
        "only {references} crate paths found: the scan is broken"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_scan_sees_grouped_and_nested_paths() {
    let code = "use crate::model::{A, B};\nuse crate::{region::Kode, store::{Store, StoreError}};\n\
                fn f() { crate::geometry::bbox(); }\n#[cfg(test)]\nmod tests { use crate::server; }";
    let mut found = crate_references(code);
    found.sort();
    assert_eq!(found, ["geometry", "model", "region", "server", "store"]);
}
