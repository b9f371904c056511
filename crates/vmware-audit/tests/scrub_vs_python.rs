//! The free-text scrubber against the Python package's own
//! `_redact_secrets_text`: error messages and command lines with credentials
//! of every shape it knows, and a secret inside a 216,000-character text
//! (where ours used to give up and replace the whole text). Identical output:
//! a row reads the same whichever side wrote it, and no secret Python removes
//! is kept by us.

mod common;

use common::{Home, run_python};
use vmware_policy::redact::redact_text;

fn corpus() -> Vec<String> {
    let pad = "lorem ipsum dolor sit amet ".repeat(8_000);
    let mut v: Vec<String> = [
        "connect failed: postgresql://admin:hunter2@db.example:5432/x",
        "mysql --user=root --password=S3cr3t! -h db",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789",
        "proxy-authorization: Basic dXNlcjpwYXNzd29yZA==",
        "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_nature",
        "{\"password\": \"p@ss\", \"user\": \"bob\"}",
        "VMWARE_VC_PASSWORD=abc123 govc ls",
        "config.api_key = 'xyz987'",
        "auth=('admin', 'PASS')",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "Set-Cookie: session=abcdef; Path=/",
        "sshpass -p 'secret' ssh root@esx01",
        "curl -u admin:secret https://vc/api",
        "password: not set",
        "token_count=5120 secret_manager_url=https://x",
        "<password>hunter2</password>",
        "login admin password hunter2",
        "client_secret: \"abc\" refresh_token=def",
        "--api-key ABCDEF123456",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("{pad} --password=hunter2 {pad}"));
    v.push(format!(
        "{pad}Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789{pad}"
    ));
    v.push(format!("{} password=x", "a".repeat(50_000)));
    v.push("password".repeat(5_000));
    v
}

#[test]
fn our_scrubber_gives_what_pythons_gives() {
    let home = Home::new();
    let texts = corpus();
    let file = home.path().join("texts.json");
    std::fs::write(&file, serde_json::to_string(&texts).unwrap()).unwrap();
    let theirs: Vec<String> = serde_json::from_str(&run_python(
        home.path(),
        "scrub.py",
        &[file.to_str().unwrap()],
    ))
    .unwrap();
    let mut differ = Vec::new();
    for (t, p) in texts.iter().zip(&theirs) {
        let ours = redact_text(t);
        if ours != *p {
            let show = |s: &str| s.chars().take(300).collect::<String>();
            differ.push(format!(
                "input {:?}\n python {:?}\n ours   {:?}",
                show(t),
                show(p),
                show(&ours)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        texts.len(),
        differ.join("\n")
    );
    // The long one: only the secret went.
    assert!(theirs[19].len() > 200_000 && !theirs[19].contains("hunter2"));
}
