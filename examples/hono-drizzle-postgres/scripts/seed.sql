create table if not exists notes (
  id serial primary key,
  title text not null,
  body text not null default '',
  done boolean not null default false,
  created_at timestamptz not null default now()
);
truncate notes restart identity;
insert into notes (title, body, done) values
  ('Create the client inside the handler', 'The middleware does it: one per request, connected on the first query.', true),
  ('Keep Drizzle on the request''s handle', 'A Drizzle instance kept in a module variable fails in the next request.', true),
  ('Stream a response that still queries', 'The connection stays open until the body has been sent.', true),
  ('Deploy', 'wrangler hyperdrive create, then wrangler deploy.', false);
