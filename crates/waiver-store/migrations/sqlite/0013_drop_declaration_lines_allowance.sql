-- Declaration lines are no longer indexed by allowance (issue 5, item 9): every declaration's
-- lines landed in that index at its allowance's place, so a commit of declarations spread over
-- many allowances dirtied one more index page per declaration. Its one reader, the imports per
-- month of an allowance, reads the allowance's draw entries instead (`allowance_entries_allowance`).
DROP INDEX IF EXISTS declaration_lines_allowance;
