//! Prints the static facts of native files and of the native members of wheels:
//! `cargo run -p ftaudit-static --example dump -- [--json] FILE_OR_WHEEL...`

use std::io::Read;

fn show(label: &str, name: &str, bytes: &[u8], json: bool) {
    match ftaudit_static::analyze(name, bytes) {
        Err(p) => println!("{label}: ERROR {:?}: {}", p.kind, p.message),
        Ok(f) if json => println!(
            "{label}: {}",
            serde_json::to_string_pretty(&f).unwrap_or_default()
        ),
        Ok(f) => {
            let generator = f.generator.as_ref().map(|g| {
                format!(
                    "{:?} {}",
                    g.generator,
                    g.version.clone().unwrap_or_default()
                )
            });
            println!(
                "{label}: {:?} {:?} {:?} abi={:?} gen={:?}",
                f.format, f.architectures, f.kind, f.abi.conclusion, generator
            );
            for m in &f.modules {
                println!(
                    "    {} {:?} gil={:?} [{}] multi={:?} [{}] layout={:?}",
                    m.name,
                    m.init_style,
                    m.gil.value,
                    m.gil.evidence,
                    m.multiple_interpreters.value,
                    m.multiple_interpreters.evidence,
                    m.def.as_ref().map(|d| d.layout)
                );
            }
        }
    }
}

fn main() {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        if arg == "--json" {
            json = true;
            continue;
        }
        if arg.ends_with(".whl") {
            let file = std::fs::File::open(&arg).expect("open wheel");
            let mut zip = zip::ZipArchive::new(file).expect("read wheel");
            for i in 0..zip.len() {
                let mut member = zip.by_index(i).expect("member");
                let name = member.name().to_string();
                if !(name.ends_with(".so")
                    || name.ends_with(".pyd")
                    || name.contains(".so.")
                    || name.ends_with(".dylib"))
                {
                    continue;
                }
                let mut bytes = Vec::new();
                member.read_to_end(&mut bytes).expect("inflate");
                let base = name.rsplit('/').next().unwrap_or(&name).to_string();
                show(&format!("{arg}!{name}"), &base, &bytes, json);
            }
        } else {
            let bytes = std::fs::read(&arg).expect("read file");
            let base = arg.rsplit('/').next().unwrap_or(&arg).to_string();
            show(&arg, &base, &bytes, json);
        }
    }
}
