"""Policy look-up (托育政策查询, 荣昌 item 15, 大足 item 15): the policies that concern families
as data with their source document and date, a public search, and the "what applies to me"
helper that lists the benefits for a child, a district and a nursery with their amounts."""
