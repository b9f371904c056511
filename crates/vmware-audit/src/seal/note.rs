//! Signed notes (C2SP signed-note) and the checkpoints they carry (C2SP
//! tlog-checkpoint), through cloudflare's `signed_note` and `tlog_tiles`:
//! the formats transparency logs and their witnesses already exchange, so a
//! checkpoint of ours can be checked with their tools.

use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// Sign `text` (one or more lines, each ending in `\n`).
pub fn sign(text: &[u8], signer: &StandardSigner) -> Result<Vec<u8>, String> {
    let mut note = Note::new(text, &[]).map_err(|e| format!("cannot make the note: {e}"))?;
    note.add_sigs(&[signer])
        .map_err(|e| format!("cannot sign: {e}"))?;
    Ok(note.to_bytes())
}

/// The text of a note a trusted key signed, and the names that signed it.
/// A note signed by no trusted key, or with a bad signature from one, is refused.
pub fn open(
    bytes: &[u8],
    trusted: &[(String, StandardVerifier)],
) -> Result<(Vec<u8>, Vec<String>), String> {
    let note = Note::from_bytes(bytes).map_err(|e| format!("not a signed note ({e})"))?;
    let list = VerifierList::new(
        trusted
            .iter()
            .map(|(_, v)| Box::new(v.clone()) as Box<dyn signed_note::Verifier>)
            .collect(),
    );
    match note.verify(&list) {
        Ok((good, _)) => Ok((
            note.text().to_vec(),
            good.iter()
                .map(|s| format!("{}+{:08x}", s.name(), s.id()))
                .collect(),
        )),
        Err(signed_note::NoteError::UnverifiedNote) => Err("signed by no trusted key".to_string()),
        Err(e) => Err(format!("its signature does not verify ({e})")),
    }
}

/// The origin line of a log's checkpoints: unique per host and database file.
pub fn origin(host: &str, log: &str) -> String {
    format!("vmware-audit/{host}/{log}")
}

/// A signed checkpoint of `size` leaves with root `root`.
pub fn checkpoint(
    origin: &str,
    size: u64,
    root: Hash,
    signer: &StandardSigner,
) -> Result<Vec<u8>, String> {
    let cp = Checkpoint::new(origin, size, root, "").map_err(|e| e.to_string())?;
    sign(&cp.to_bytes(), signer)
}

/// A checkpoint a trusted key signed, for `log` (its origin's last part).
pub fn open_checkpoint(
    bytes: &[u8],
    log: &str,
    trusted: &[(String, StandardVerifier)],
) -> Result<(Checkpoint, Vec<String>), String> {
    let (text, by) = open(bytes, trusted)?;
    let cp = Checkpoint::from_bytes(&text).map_err(|e| format!("not a checkpoint ({e})"))?;
    if !cp.origin().ends_with(&format!("/{log}")) {
        return Err(format!(
            "it is for another log ({}), not {log}",
            cp.origin()
        ));
    }
    Ok((cp, by))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str) -> (StandardSigner, (String, StandardVerifier)) {
        let (skey, vkey) = signed_note::generate_key(&mut rand_core::OsRng, name);
        (
            StandardSigner::new(&skey).unwrap(),
            (vkey.clone(), StandardVerifier::new(&vkey).unwrap()),
        )
    }

    #[test]
    fn a_checkpoint_opens_with_its_key_only() {
        let (signer, trusted) = pair("vmware-audit-seal/h1");
        let (_, other) = pair("vmware-audit-seal/h1");
        let bytes = checkpoint(&origin("h1", "abc"), 7, Hash([9; 32]), &signer).unwrap();
        let (cp, by) = open_checkpoint(&bytes, "abc", std::slice::from_ref(&trusted)).unwrap();
        assert_eq!((cp.size(), cp.hash().0), (7, [9; 32]));
        assert!(by[0].starts_with("vmware-audit-seal/h1+"));
        assert!(open_checkpoint(&bytes, "abc", &[other]).is_err());
        assert!(open_checkpoint(&bytes, "xyz", std::slice::from_ref(&trusted)).is_err());
        // One byte of the text changed: the signature no longer verifies.
        let forged = String::from_utf8(bytes)
            .unwrap()
            .replacen("\n7\n", "\n8\n", 1);
        let err = open_checkpoint(forged.as_bytes(), "abc", &[trusted]).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
    }
}
