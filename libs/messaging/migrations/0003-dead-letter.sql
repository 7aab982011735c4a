-- Events a consumer group gave up on, with the last error; operators list, replay or delete them.
create table dead_letter (
  id uuid primary key,
  consumer_group text not null,
  event_id uuid not null,
  event_type text not null,
  envelope jsonb not null,
  error jsonb not null,
  attempts integer not null,
  traceparent text,
  failed_at timestamptz not null,
  unique (consumer_group, event_id)
);

create index dead_letter_group on dead_letter (consumer_group, id);
