//! Media types of served files: by extension (or well-known file name), and by a look at the
//! first bytes for a file with no extension (text when it is UTF-8 with no NUL).

use std::path::Path;

/// What a text file that is not HTML, CSS or the like is served as: browsers display it.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// What a file whose type is unknown is served as: browsers download it.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// How many leading bytes [`mime_for`] looks at for a file with no extension.
pub const SNIFF_LEN: usize = 512;

/// The media type of a file name, from its extension or its whole name (`Makefile`,
/// `.gitignore`); `None` when neither is known.
pub fn known_type(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let by_name = match lower.as_str() {
        ".gitignore" | ".gitattributes" | ".gitmodules" | ".editorconfig" | ".dockerignore"
        | ".env" | ".bashrc" | ".profile" | "makefile" | "dockerfile" | "license" | "licence"
        | "readme" | "changelog" | "authors" | "copying" | "cargo.lock" => Some(TEXT_PLAIN),
        _ => None,
    };
    if by_name.is_some() {
        return by_name;
    }
    let (stem, ext) = lower.rsplit_once('.')?;
    if stem.is_empty() {
        // `.name`: a dot-file, not an extension.
        return None;
    }
    Some(match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        // Source code, configuration and logs: shown as text rather than downloaded.
        "txt" | "text" | "log" | "rs" | "toml" | "lock" | "sh" | "bash" | "zsh" | "py" | "pyi"
        | "rb" | "pl" | "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "go" | "java" | "kt"
        | "swift" | "ts" | "tsx" | "jsx" | "lua" | "sql" | "yaml" | "yml" | "ini" | "cfg"
        | "conf" | "diff" | "patch" | "rst" | "tex" | "asm" | "s" | "mk" | "cmake" | "gradle"
        | "properties" | "proto" | "nix" | "el" | "vim" | "hs" | "ml" | "ex" | "exs" | "erl"
        | "zig" | "d" | "php" | "gitignore" => TEXT_PLAIN,
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "bz2" => "application/x-bzip2",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => return None,
    })
}

/// The media type for a file name, from its extension or its whole name (`Makefile`,
/// `.gitignore`), else `application/octet-stream`.
pub fn mime_type(path: &Path) -> &'static str {
    known_type(path).unwrap_or(OCTET_STREAM)
}

/// True when the file has no extension, so that [`mime_for`] wants its first bytes.
pub fn wants_sniff(path: &Path) -> bool {
    known_type(path).is_none() && !has_extension(path)
}

fn has_extension(path: &Path) -> bool {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(name) => name.rfind('.').is_some_and(|i| i > 0),
        None => false,
    }
}

/// The media type for a file given its first bytes `head` (up to [`SNIFF_LEN`]): a known
/// name or extension decides; a file with no extension is text when `head` has no NUL and
/// is valid UTF-8 (a character cut at the end of `head` allowed).
pub fn mime_for(path: &Path, head: &[u8]) -> &'static str {
    if let Some(t) = known_type(path) {
        return t;
    }
    if has_extension(path) {
        return OCTET_STREAM;
    }
    if looks_like_text(head) {
        TEXT_PLAIN
    } else {
        OCTET_STREAM
    }
}

/// No NUL, and UTF-8 up to a possibly cut last character.
pub fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // An incomplete sequence at the very end is a character cut by the sniff length.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_and_config_files_are_plain_text() {
        for name in [
            "main.rs",
            "Cargo.toml",
            "Cargo.lock",
            "run.sh",
            "x.py",
            "a.txt",
            "m.c",
            "m.h",
            ".gitignore",
            "Makefile",
        ] {
            assert_eq!(mime_type(Path::new(name)), TEXT_PLAIN, "{name}");
        }
        assert_eq!(
            mime_type(Path::new("README.md")),
            "text/markdown; charset=utf-8"
        );
        assert_eq!(mime_type(Path::new("d.json")), "application/json");
        assert_eq!(mime_type(Path::new("i.PNG")), "image/png");
        assert_eq!(mime_type(Path::new("blob.bin")), OCTET_STREAM);
    }

    #[test]
    fn extensionless_files_are_sniffed_for_utf8_text() {
        let p = Path::new("NOTES");
        assert!(wants_sniff(p));
        assert_eq!(mime_for(p, "héllo\nworld".as_bytes()), TEXT_PLAIN);
        assert_eq!(mime_for(p, b"\x7fELF\x02\x01\x01\0\0"), OCTET_STREAM);
        assert_eq!(mime_for(p, b"abc\xff\xfe"), OCTET_STREAM);
        // A three-byte character cut after its first byte by the sniff window.
        assert_eq!(mime_for(p, b"abc\xe6"), TEXT_PLAIN);
        assert_eq!(mime_for(p, b""), TEXT_PLAIN);
        // An unknown extension is not sniffed.
        assert!(!wants_sniff(Path::new("x.weird")));
        assert_eq!(mime_for(Path::new("x.weird"), b"text"), OCTET_STREAM);
    }
}
