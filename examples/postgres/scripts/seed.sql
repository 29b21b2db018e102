create table if not exists todos (id serial primary key, title text not null, done boolean not null default false);
truncate todos restart identity;
insert into todos (title, done) values
  ('Create the client inside the handler', true),
  ('Keep prepare: true so Hyperdrive can cache', true),
  ('Let teardown wait for the streamed body', true),
  ('Deploy', false);
