-- Refund claims follow their declaration (issue 5, item 6): a claim is for one revision of a
-- declaration line, and cancelling or amending the declaration withdraws its open claims.
ALTER TABLE refund_claims ADD COLUMN revision BIGINT NOT NULL DEFAULT 1 CHECK (revision >= 1);
-- Claims recorded before this migration are taken to be for the declaration's current revision.
UPDATE refund_claims c SET revision = d.revision FROM declarations d WHERE d.number = c.declaration_number;
ALTER TABLE refund_claims ALTER COLUMN revision DROP DEFAULT;
ALTER TABLE refund_claims ADD COLUMN withdrawn_at_ms BIGINT;
ALTER TABLE refund_claims ADD COLUMN withdrawn_reason TEXT;
ALTER TABLE refund_claims DROP CONSTRAINT refund_claims_status_check;
ALTER TABLE refund_claims ADD CONSTRAINT refund_claims_status_check
    CHECK (status IN ('open', 'settled', 'withdrawn'));
DO $$
DECLARE n TEXT;
BEGIN
    SELECT conname INTO n FROM pg_constraint
    WHERE conrelid = 'refund_claims'::regclass AND contype = 'u';
    EXECUTE format('ALTER TABLE refund_claims DROP CONSTRAINT %I', n);
END $$;
ALTER TABLE refund_claims ADD CONSTRAINT refund_claims_claim_key
    UNIQUE (exclusion_application, declaration_number, revision, line_no);
CREATE INDEX refund_claims_declaration ON refund_claims (declaration_number);
