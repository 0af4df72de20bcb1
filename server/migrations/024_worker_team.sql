-- A worker may be limited to one team: it then runs only the jobs of that team's members.
ALTER TABLE workers ADD COLUMN team_id text REFERENCES teams(id) ON DELETE CASCADE;
