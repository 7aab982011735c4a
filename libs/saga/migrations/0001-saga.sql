-- The saga log. One row per saga, one per step, written before and after every step so that a
-- restarted instance knows what to invoke again and what to compensate.
-- owner / lease_until: the instance driving the saga; another may take it over only once the
-- lease has run out, and every write checks owner, so a late writer cannot overwrite a successor.
create table saga (
  id uuid primary key,
  name text not null,
  input jsonb not null,
  status text not null check (status in ('running', 'compensating', 'completed', 'compensated', 'failed')),
  error jsonb,
  deadline timestamptz not null,
  owner text,
  lease_until timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  finished_at timestamptz
);

create index saga_unfinished on saga (name, lease_until) where status in ('running', 'compensating');
create index saga_by_status on saga (status, id);

create table saga_step (
  saga_id uuid not null references saga (id) on delete cascade,
  step_index integer not null,
  step_name text not null,
  local boolean not null,
  invoke_status text not null default 'pending' check (invoke_status in ('pending', 'started', 'done', 'failed')),
  invoke_attempts integer not null default 0,
  result jsonb,
  invoke_error jsonb,
  invoked_at timestamptz,
  compensate_status text not null default 'pending'
    check (compensate_status in ('pending', 'started', 'done', 'failed', 'not_needed')),
  compensate_attempts integer not null default 0,
  compensate_error jsonb,
  compensated_at timestamptz,
  updated_at timestamptz not null,
  primary key (saga_id, step_index)
);
