//! Generates the ABI check of twinlink-sys, in the manner of git2-rs's systest:
//!
//! - a C file, compiled against the headers, with a `_Static_assert` per function and callback
//!   type that the C type equals the one spelled from the Rust declaration, and a per-field check
//!   of the struct field types; plus functions returning every `sizeof`, `offsetof`, signedness
//!   and constant value the Rust side declares;
//! - Rust tests (included by src/lib.rs) that compare those with `size_of`, `offset_of!` and the
//!   Rust constants;
//! - a completeness check: every function, callback type, struct, enum type, enum value and
//!   constant macro of the headers must be declared in twinlink-sys, or this build fails.
//!
//! So a header change that twinlink-sys misses fails `cargo test`.

use std::collections::BTreeSet;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

struct Function {
    name: String,
    params: Vec<String>,
    ret: Option<String>,
}

struct Struct {
    name: String,
    fields: Vec<(String, String)>,
}

#[derive(Default)]
struct Declarations {
    functions: Vec<Function>,
    callbacks: Vec<Function>,
    structs: Vec<Struct>,
    opaque: Vec<String>,
    aliases: Vec<String>,
    constants: Vec<(String, String)>,
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let sys_source = manifest.join("../twinlink-sys/src/lib.rs");
    let include = PathBuf::from(
        env::var("DEP_TWINLINK_INCLUDE").expect("twinlink-sys passes its header directory as DEP_TWINLINK_INCLUDE"),
    );
    println!("cargo:rerun-if-changed={}", sys_source.display());
    println!("cargo:rerun-if-changed={}", include.display());

    let rust = fs::read_to_string(&sys_source).unwrap();
    let declarations = parse_rust(&rust);
    check_complete(&declarations, &include);

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let (c, tests) = generate(&declarations);
    let c_path = out.join("abi_check.c");
    fs::write(&c_path, c).unwrap();
    fs::write(out.join("abi_tests.rs"), tests).unwrap();
    cc::Build::new()
        .file(&c_path)
        .include(&include)
        .flag_if_supported("-std=c11")
        .flag_if_supported("-Wno-type-limits")
        .warnings_into_errors(true)
        .compile("twinlink_abi_check");
}

/// Parses the declarations of twinlink-sys's lib.rs, which keeps one simple form per kind.
fn parse_rust(source: &str) -> Declarations {
    let mut declarations = Declarations::default();
    // Join each declaration onto one line: statements end with ';' or a struct's '}'.
    let mut lines = source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'));
    while let Some(line) = lines.next() {
        if line.starts_with("pub fn ")
            || (line.starts_with("pub type ") && line.contains("fn(")
                || line.starts_with("pub type ") && !line.ends_with(';'))
        {
            let mut text = line.to_string();
            while !text.ends_with(';') {
                text.push(' ');
                text.push_str(lines.next().expect("unterminated declaration"));
            }
            if let Some(rest) = text.strip_prefix("pub fn ") {
                declarations.functions.push(parse_signature(rest));
            } else {
                let rest = text.strip_prefix("pub type ").unwrap();
                let (name, signature) = rest.split_once('=').unwrap();
                let signature = signature.trim().strip_prefix("unsafe extern \"C\" fn").unwrap();
                let mut function = parse_signature(&format!("{}{}", name.trim(), signature));
                function.name = name.trim().to_string();
                declarations.callbacks.push(function);
            }
        } else if let Some(rest) = line.strip_prefix("pub type ") {
            declarations
                .aliases
                .push(rest.split_once('=').unwrap().0.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let (name, rest) = rest.split_once(':').unwrap();
            let ty = rest.split_once('=').unwrap().0.trim();
            declarations.constants.push((name.trim().to_string(), ty.to_string()));
        } else if let Some(rest) = line.strip_prefix("pub enum ") {
            declarations
                .opaque
                .push(rest.split_whitespace().next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.split_whitespace().next().unwrap().to_string();
            let mut fields = Vec::new();
            for field in lines.by_ref() {
                if field == "}" {
                    break;
                }
                let field = field.strip_prefix("pub ").unwrap().trim_end_matches(',');
                let (field_name, ty) = field.split_once(':').unwrap();
                fields.push((field_name.trim().to_string(), ty.trim().to_string()));
            }
            declarations.structs.push(Struct { name, fields });
        }
    }
    declarations
}

/// `name(a: T, b: U) -> R;` into its parts.
fn parse_signature(text: &str) -> Function {
    let open = text.find('(').unwrap();
    let close = text.rfind(')').unwrap();
    let name = text[..open].trim().to_string();
    let params = text[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once(':').unwrap().1.trim().to_string())
        .collect();
    let tail = text[close + 1..].trim().trim_end_matches(';').trim();
    let ret = tail.strip_prefix("->").map(|r| r.trim().to_string());
    Function { name, params, ret }
}

/// The C spelling of a Rust FFI type.
fn c_type(rust: &str) -> String {
    let rust = rust.trim();
    if let Some(inner) = rust.strip_prefix("*const ") {
        return format!("const {} *", c_type(inner)).replace("* *", "**");
    }
    if let Some(inner) = rust.strip_prefix("*mut ") {
        return format!("{} *", c_type(inner)).replace("* *", "**");
    }
    if let Some(inner) = rust.strip_prefix("Option<").and_then(|r| r.strip_suffix('>')) {
        return c_type(inner);
    }
    match rust {
        "c_char" => "char",
        "c_int" => "int",
        "c_uint" => "unsigned int",
        "c_double" | "f64" => "double",
        "c_void" => "void",
        "u32" => "uint32_t",
        "u64" => "uint64_t",
        "i64" => "int64_t",
        "usize" => "size_t",
        other => other,
    }
    .to_string()
}

fn c_pointer_type(function: &Function) -> String {
    let ret = function.ret.as_deref().map(c_type).unwrap_or_else(|| "void".into());
    let params: Vec<String> = function.params.iter().map(|p| c_type(p)).collect();
    let params = if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    };
    format!("{ret} (*)({params})")
}

fn generate(d: &Declarations) -> (String, String) {
    let mut c = String::from("/* Generated by systest/build.rs from twinlink-sys's declarations. */\n");
    c.push_str("#include <twinlink.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n");
    c.push_str("#define SAME_TYPE(a, b, what) _Static_assert(__builtin_types_compatible_p(a, b), what)\n\n");
    let mut t = String::from("// Generated by systest/build.rs.\n");
    for f in &d.functions {
        let _ = writeln!(
            c,
            "SAME_TYPE(__typeof__(&{0}), {1}, \"twinlink-sys declares {0} as {1}, which the header does not\");",
            f.name,
            c_pointer_type(f)
        );
    }
    for f in &d.callbacks {
        let _ = writeln!(
            c,
            "SAME_TYPE({0}, {1}, \"twinlink-sys declares callback type {0} as {1}, which the header does not\");",
            f.name,
            c_pointer_type(f)
        );
    }
    let mut layout = Vec::new();
    for s in &d.structs {
        layout.push((
            format!("sizeof_{}", s.name),
            format!("sizeof({})", s.name),
            format!("std::mem::size_of::<{}>()", s.name),
        ));
        layout.push((
            format!("alignof_{}", s.name),
            format!("_Alignof({})", s.name),
            format!("std::mem::align_of::<{}>()", s.name),
        ));
        for (field, ty) in &s.fields {
            let _ = writeln!(
                c,
                "SAME_TYPE(__typeof__((({0} *)0)->{1}), {2}, \"twinlink-sys declares {0}.{1} as {2}, which the header does not\");",
                s.name,
                field,
                c_type(ty)
            );
            layout.push((
                format!("offsetof_{}_{}", s.name, field),
                format!("offsetof({}, {})", s.name, field),
                format!("std::mem::offset_of!({}, {})", s.name, field),
            ));
        }
    }
    for alias in &d.aliases {
        layout.push((
            format!("sizeof_{alias}"),
            format!("sizeof({alias})"),
            format!("std::mem::size_of::<{alias}>()"),
        ));
        let _ = writeln!(c, "int systest_signed_{alias}(void) {{ return ({alias})-1 < 0; }}");
        let _ = writeln!(
            t,
            "#[test]\nfn signed_{alias}() {{\n    assert_eq!(unsafe {{ systest_signed_{alias}() }} != 0, {alias}::MIN != 0, \"signedness of {alias}\");\n}}"
        );
        let _ = writeln!(t, "extern \"C\" {{ fn systest_signed_{alias}() -> std::ffi::c_int; }}");
    }
    for (name, c_expr, rust_expr) in &layout {
        let _ = writeln!(c, "size_t systest_{name}(void) {{ return {c_expr}; }}");
        let _ = writeln!(
            t,
            "extern \"C\" {{ fn systest_{name}() -> usize; }}\n#[test]\nfn {name}() {{\n    assert_eq!({rust_expr}, unsafe {{ systest_{name}() }}, \"{c_expr}\");\n}}"
        );
    }
    for (name, ty) in &d.constants {
        if ty == "&str" {
            let _ = writeln!(c, "const char *systest_const_{name}(void) {{ return {name}; }}");
            let _ = writeln!(
                t,
                "extern \"C\" {{ fn systest_const_{name}() -> *const std::ffi::c_char; }}\n#[test]\nfn const_{name}() {{\n    let c = unsafe {{ std::ffi::CStr::from_ptr(systest_const_{name}()) }};\n    assert_eq!(c.to_str().unwrap(), {name});\n}}"
            );
        } else {
            let _ = writeln!(
                c,
                "long long systest_const_{name}(void) {{ return (long long)({name}); }}"
            );
            let _ = writeln!(
                t,
                "extern \"C\" {{ fn systest_const_{name}() -> i64; }}\n#[test]\nfn const_{name}() {{\n    assert_eq!({name} as i64, unsafe {{ systest_const_{name}() }}, \"{name}\");\n}}"
            );
        }
    }
    (c, t)
}

/// Fails the build when the headers declare something twinlink-sys does not.
fn check_complete(d: &Declarations, include: &Path) {
    let mut headers = vec![include.join("twinlink.h")];
    let mut module_headers: Vec<PathBuf> = fs::read_dir(include.join("twinlink"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h"))
        .collect();
    module_headers.sort();
    headers.extend(module_headers);

    let mut declared: BTreeSet<String> = BTreeSet::new();
    declared.extend(d.functions.iter().map(|f| f.name.clone()));
    declared.extend(d.callbacks.iter().map(|f| f.name.clone()));
    declared.extend(d.structs.iter().map(|s| s.name.clone()));
    declared.extend(d.opaque.iter().cloned());
    declared.extend(d.aliases.iter().cloned());
    declared.extend(d.constants.iter().map(|(n, _)| n.clone()));

    let mut missing = Vec::new();
    for header in &headers {
        println!("cargo:rerun-if-changed={}", header.display());
        let text = strip_comments(&fs::read_to_string(header).unwrap());
        for name in header_names(&text) {
            if !declared.contains(&name) {
                missing.push(format!("{name} ({})", header.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    if !missing.is_empty() {
        panic!(
            "twinlink-sys/src/lib.rs lacks declarations of the headers: {}",
            missing.join(", ")
        );
    }
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..].split_once("*/").map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

fn identifier_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Every name a header declares: functions, typedefs, enum values and value macros.
fn header_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let internal = ["TL_API", "TL_BEGIN_DECLS", "TL_END_DECLS"];
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#define ") {
            let name = identifier_at(rest);
            if name.starts_with("TL_") && !internal.contains(&name.as_str()) {
                names.push(name);
            }
        } else if line.starts_with("TL_API ") {
            let open = line.find('(').expect("TL_API declaration with its name on its line");
            let name = line[..open]
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap();
            names.push(name.to_string());
        } else if let Some(rest) = line.strip_prefix("typedef ") {
            if let Some(pos) = rest.find("(*") {
                names.push(identifier_at(&rest[pos + 2..]));
            } else if let Some(rest) = rest.strip_prefix("struct ").or_else(|| rest.strip_prefix("enum ")) {
                names.push(identifier_at(rest));
            }
        }
        // Enum values: `TL_NAME = value` in an enum body (possibly several on a line).
        let mut rest = line;
        while let Some(pos) = rest.find("TL_") {
            let name = identifier_at(&rest[pos..]);
            let after = rest[pos + name.len()..].trim_start();
            if after.starts_with('=') && !after.starts_with("==") && !line.starts_with("#define") {
                names.push(name.clone());
            }
            rest = &rest[pos + name.len().max(1)..];
        }
    }
    names
}
