-- The batched declaration writer appends its audit entries inside its one write statement
-- instead of taking the chain's head in a round trip of its own and inserting in another: the
-- head row is then held from this call to the commit only, which is where concurrent writers
-- queue. The hashes are those of `AuditEntry::compute_hash` in Rust, byte for byte: SHA-256 of
-- the compact JSON array [seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff,
-- prev_hash]; `to_json(text)` escapes exactly as serde_json does (", \, \b \f \n \r \t, other
-- control characters as \u00xx in lower case; everything else as is). `verify_audit` checks it.
--
-- `entries`: a JSON array of {at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff}
-- in chain order. `after`: ignored; the caller passes the counts of rows its statement inserted,
-- so that the head is taken after those inserts. Returns the number of entries appended.
CREATE FUNCTION waiver_audit_append(entries JSONB, after BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT := jsonb_array_length(entries);
    last_seq BIGINT;
    prev TEXT;
    s BIGINT;
    e JSONB;
    h TEXT;
    seqs BIGINT[] := '{}';
    prevs TEXT[] := '{}';
    hashes TEXT[] := '{}';
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    UPDATE audit_head SET seq = seq + n WHERE id = 1 RETURNING seq, hash INTO last_seq, prev;
    s := last_seq - n;
    FOR e IN SELECT x.value FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(value, i) ORDER BY x.i LOOP
        s := s + 1;
        h := encode(sha256(convert_to(
            '[' || s::text || ',' || (e->>'at_ms') || ','
            || to_json(e->>'actor')::text || ','
            || COALESCE(to_json(e->>'on_behalf_of')::text, 'null') || ','
            || to_json(e->>'entity_type')::text || ','
            || to_json(e->>'entity_id')::text || ','
            || to_json(e->>'action')::text || ','
            || to_json(e->>'diff')::text || ','
            || to_json(prev)::text || ']', 'UTF8')), 'hex');
        seqs := seqs || s;
        prevs := prevs || prev;
        hashes := hashes || h;
        prev := h;
    END LOOP;
    INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash)
    SELECT seqs[x.i], (x.value->>'at_ms')::BIGINT, x.value->>'actor', x.value->>'on_behalf_of',
           x.value->>'entity_type', x.value->>'entity_id', x.value->>'action', x.value->>'diff',
           prevs[x.i], hashes[x.i]
    FROM jsonb_array_elements(entries) WITH ORDINALITY AS x(value, i);
    UPDATE audit_head SET hash = prev WHERE id = 1;
    RETURN n;
END
$$;
