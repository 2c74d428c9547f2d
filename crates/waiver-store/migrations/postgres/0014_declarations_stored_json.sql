-- Declarations' `request` and `answer` are stored compressed (issue 5, item 9): as text the
-- answer (~1.7 KB of repetitive JSON) was pglz-compressed by PostgreSQL on every insert, and on
-- SQLite each row filled a page of its own. Both columns now hold bytes (BYTEA), read and
-- written only through `stored_json.rs`: either a tagged LZ4 block (first byte 0x01, compressed
-- against a frozen dictionary) or the JSON text itself as UTF-8 (rows recorded before this
-- migration, converted here byte for byte). Their meaning is unchanged: the request as received
-- (canonical JSON) and the answer given, for exact replays.
ALTER TABLE declarations
    ALTER COLUMN request TYPE BYTEA USING convert_to(request, 'UTF8'),
    ALTER COLUMN answer TYPE BYTEA USING convert_to(answer, 'UTF8');
