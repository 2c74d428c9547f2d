-- Declarations' `request` and `answer` are stored compressed (issue 5, item 9): as text, each
-- row (~2 KB, mostly the answer's JSON) filled a 4 KiB page of its own, so every declaration of
-- a group commit wrote one more page. Both columns now hold bytes (BLOB), read and written only
-- through `stored_json.rs`: either a tagged LZ4 block (first byte 0x01, compressed against a
-- frozen dictionary) or the JSON text itself as UTF-8 (rows recorded before this migration).
-- Their meaning is unchanged: the request as received (canonical JSON) and the answer given,
-- for exact replays. The declared type stays TEXT (SQLite cannot alter it in place, and TEXT
-- affinity stores BLOB values unchanged); existing rows are turned into BLOBs holding the same
-- UTF-8 bytes, so every row has one storage class.
UPDATE declarations
SET request = CAST(request AS BLOB), answer = CAST(answer AS BLOB)
WHERE typeof(request) = 'text' OR typeof(answer) = 'text';
