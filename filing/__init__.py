"""Online filing (机构"网上提交及时办", 荣昌 item 15): applications to the district health
commission for a new nursery, a change or a closure, and their review."""
