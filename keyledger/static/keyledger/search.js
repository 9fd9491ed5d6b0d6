// The top bar's search box: the / key focuses it.
