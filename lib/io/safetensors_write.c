/* placeholder: written by the io work */
