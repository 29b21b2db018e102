create table if not exists todos (id int auto_increment primary key, title varchar(255) not null, done boolean not null default false);
truncate table todos;
insert into todos (title, done) values
  ('Create the connection inside the handler', true),
  ('Deploy', false);
