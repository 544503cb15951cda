//! PEP 508 environment markers, parsed once and evaluated per target: a pin such as
//! `pywin32==306 ; sys_platform == "win32"` only belongs to the Windows target.

use crate::tags::{Platform, PlatformKind, PythonTarget};

/// A parsed marker expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub text: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        left: Value,
        op: String,
        right: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Variable(String),
    Literal(String),
}

/// The marker variables of one target.
#[derive(Debug, Clone)]
pub struct Environment {
    values: Vec<(&'static str, String)>,
}

impl Environment {
    pub fn new(python: &PythonTarget, platform: &Platform) -> Environment {
        let (sys_platform, system, os_name) = match platform.kind {
            PlatformKind::Macos { .. } => ("darwin", "Darwin", "posix"),
            PlatformKind::Windows => ("win32", "Windows", "nt"),
            _ => ("linux", "Linux", "posix"),
        };
        // platform.machine() spelling differs per OS: AMD64 on Windows, arm64 on macOS.
        let machine = match (&platform.kind, platform.arch.as_str()) {
            (PlatformKind::Windows, "amd64") => "AMD64".to_string(),
            (PlatformKind::Windows, "arm64") => "ARM64".to_string(),
            (PlatformKind::Windows, "win32") => "x86".to_string(),
            (_, arch) => arch.to_string(),
        };
        let version = format!("3.{}", python.minor);
        let full = format!("3.{}.{}", python.minor, python.patch);
        Environment {
            values: vec![
                ("sys_platform", sys_platform.into()),
                ("platform_system", system.into()),
                ("os_name", os_name.into()),
                ("platform_machine", machine),
                ("python_version", version),
                ("python_full_version", full.clone()),
                ("implementation_version", full),
                ("implementation_name", "cpython".into()),
                ("platform_python_implementation", "CPython".into()),
            ],
        }
    }

    fn get(&self, name: &str) -> String {
        // extra, platform_release, platform_version: unknown for a machine we are not on;
        // the empty string makes `extra == "x"` false, as pip does without extras.
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

impl Marker {
    pub fn parse(text: &str) -> Result<Marker, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0 };
        let expr = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!(
                "unexpected {:?} in marker {text:?}",
                parser.tokens[parser.pos]
            ));
        }
        Ok(Marker {
            text: text.trim().to_string(),
            expr,
        })
    }

    pub fn evaluate(&self, env: &Environment) -> bool {
        eval(&self.expr, env)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
    Op(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            tokens.push(if c == '(' { Token::Open } else { Token::Close });
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or("unclosed string in marker")?;
            tokens.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if "<>=!~".contains(c) {
            let mut op = String::new();
            while i < chars.len() && "<>=!~".contains(chars[i]) {
                op.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Op(op));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut word = String::new();
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                word.push(chars[i]);
                i += 1;
            }
            tokens.push(Token::Word(word));
        } else {
            return Err(format!("unexpected {c:?} in marker {text:?}"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.atom()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.tokens.get(self.pos) != Some(&Token::Close) {
                return Err("missing ')' in marker".into());
            }
            self.pos += 1;
            return Ok(inner);
        }
        let left = self.value()?;
        let op = match self.tokens.get(self.pos).cloned() {
            Some(Token::Op(op)) => {
                self.pos += 1;
                op
            }
            Some(Token::Word(w)) if w == "in" => {
                self.pos += 1;
                "in".to_string()
            }
            Some(Token::Word(w))
                if w == "not"
                    && self.tokens.get(self.pos + 1) == Some(&Token::Word("in".into())) =>
            {
                self.pos += 2;
                "not in".to_string()
            }
            other => return Err(format!("expected a comparison in marker, found {other:?}")),
        };
        let right = self.value()?;
        Ok(Expr::Compare { left, op, right })
    }

    fn value(&mut self) -> Result<Value, String> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Str(s)) => Ok(Value::Literal(s)),
            Some(Token::Word(w)) => Ok(Value::Variable(w.replace('.', "_"))),
            other => Err(format!(
                "expected a marker variable or string, found {other:?}"
            )),
        }
    }
}

fn eval(expr: &Expr, env: &Environment) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, env) && eval(b, env),
        Expr::Or(a, b) => eval(a, env) || eval(b, env),
        Expr::Compare { left, op, right } => {
            let is_version = |v: &Value| matches!(v, Value::Variable(n) if n.ends_with("_version") && n != "platform_version");
            let versions = is_version(left) || is_version(right);
            let resolve = |v: &Value| match v {
                Value::Variable(n) => env.get(n),
                Value::Literal(s) => s.clone(),
            };
            compare(&resolve(left), op, &resolve(right), versions)
        }
    }
}

fn compare(left: &str, op: &str, right: &str, versions: bool) -> bool {
    match op {
        "in" => right.contains(left),
        "not in" => !right.contains(left),
        "===" => left == right,
        _ if versions => {
            let (l, r) = (release(left), release(right.trim_end_matches(".*")));
            match op {
                "==" if right.ends_with(".*") => l.starts_with(&r),
                "!=" if right.ends_with(".*") => !l.starts_with(&r),
                "==" => padded_eq(&l, &r),
                "!=" => !padded_eq(&l, &r),
                "<" => l < r && !padded_eq(&l, &r),
                "<=" => l <= r || padded_eq(&l, &r),
                ">" => l > r && !padded_eq(&l, &r),
                ">=" => l >= r || padded_eq(&l, &r),
                // ~=X.Y.Z: >= X.Y.Z and == X.Y.*
                "~=" => {
                    (l >= r || padded_eq(&l, &r)) && r.len() > 1 && l.starts_with(&r[..r.len() - 1])
                }
                _ => false,
            }
        }
        "==" => left == right,
        "!=" => left != right,
        "<" => left < right,
        "<=" => left <= right,
        ">" => left > right,
        ">=" => left >= right,
        _ => false,
    }
}

/// Numeric release segments: `3.14` -> [3, 14]; anything after a non-digit is dropped.
fn release(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map_while(|part| {
            let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()
        })
        .collect()
}

fn padded_eq(a: &[u64], b: &[u64]) -> bool {
    let n = a.len().max(b.len());
    (0..n).all(|i| a.get(i).unwrap_or(&0) == b.get(i).unwrap_or(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(marker: &str, python: &str, platform: &str) -> bool {
        let env = Environment::new(&python.parse().unwrap(), &platform.parse().unwrap());
        Marker::parse(marker).unwrap().evaluate(&env)
    }

    #[test]
    fn markers_evaluate_per_target() {
        assert!(holds("sys_platform == 'win32'", "3.14t", "win_amd64"));
        assert!(!holds(
            "sys_platform == 'win32'",
            "3.14t",
            "manylinux_2_28_x86_64"
        ));
        assert!(holds(
            "platform_machine == 'AMD64' and os_name == 'nt'",
            "3.14t",
            "win_amd64"
        ));
        assert!(holds(
            "python_version >= '3.9' and python_version < '3.15'",
            "3.14t",
            "win_amd64"
        ));
        assert!(!holds("python_version < '3.10'", "3.14t", "win_amd64"));
        assert!(holds(
            "(sys_platform == 'darwin' or sys_platform == 'linux') and platform_machine == 'arm64'",
            "3.14t",
            "macosx_14_0_arm64"
        ));
        assert!(holds(
            "python_full_version >= '3.14.0'",
            "3.14t",
            "win_amd64"
        ));
        assert!(holds(
            "platform_system != 'Windows'",
            "3.14t",
            "musllinux_1_2_x86_64"
        ));
        assert!(holds(
            "'linux' in sys_platform",
            "3.14t",
            "manylinux_2_28_aarch64"
        ));
        assert!(!holds("extra == 'dev'", "3.14t", "manylinux_2_28_aarch64"));
        assert!(holds(
            "implementation_name == \"cpython\"",
            "3.14t",
            "win_amd64"
        ));
        assert!(Marker::parse("sys_platform ==").is_err());
    }
}
