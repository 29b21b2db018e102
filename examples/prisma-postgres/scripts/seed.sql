create table if not exists todos (id serial primary key, title text not null, done boolean not null default false);
truncate todos restart identity;
insert into todos (title, done) values
  ('Create the PrismaClient inside the handler', true),
  ('Let the request own the pg Pool under it', true),
  ('Deploy', false);
